package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcu-project/mcu/bench/internal/proc"
)

// window is one measured stretch of a run: what the mcu process and its
// /metrics said when it opened, so closing it yields the differences.
type window struct {
	o      Options
	start  time.Time
	cpu0   float64
	ticks0 TickScrape
}

// openWindow starts measuring, and calls o.Measuring.
func openWindow(ctx context.Context, o Options) (*window, error) {
	w := &window{o: o}
	var err error
	if w.ticks0, err = ScrapeTicks(ctx, o.metricsURL()); err != nil {
		return nil, err
	}
	if w.cpu0, err = proc.CPUSeconds(o.PID); err != nil {
		return nil, err
	}
	w.start = time.Now()
	if o.Measuring != nil {
		o.Measuring()
	}
	return w, nil
}

// close ends the window and writes its duration, the mcu's CPU time, its
// resident size and its mix ticks' lateness over it into res.
func (w *window) close(ctx context.Context, res *Result) error {
	res.Duration = time.Since(w.start)
	cpu1, err := proc.CPUSeconds(w.o.PID)
	if err != nil {
		return err
	}
	res.CPUSeconds = cpu1 - w.cpu0
	if w.o.PID != 0 {
		if res.RSSBytes, res.RSSPeakBytes, err = proc.RSS(w.o.PID); err != nil {
			return err
		}
	}
	ticks, err := ScrapeTicks(ctx, w.o.metricsURL())
	if err != nil {
		return err
	}
	d := ticks.Since(w.ticks0)
	res.Ticks = d.Ticks
	if d.Ticks > 0 {
		res.LateTickShare = d.Late / d.Ticks
	}
	res.TickLateP50Ms, res.TickLateP99Ms = 1000*d.Quantile(0.5), 1000*d.Quantile(0.99)
	return nil
}

// TickScrape is what the mcu's /metrics says of its audio mix ticks: how
// many ran, how many started over 5 ms late, and the lateness histogram's
// cumulative buckets. It is exported for the mcu's soak test, which reads
// tick lateness over its churn the way the load runs do.
type TickScrape struct {
	Ticks, Late float64
	le, counts  []float64 // bucket upper bounds (s, ascending) and cumulative counts; +Inf last
}

// Since is s minus an earlier scrape of the same mcu.
func (s TickScrape) Since(earlier TickScrape) TickScrape {
	d := TickScrape{Ticks: s.Ticks - earlier.Ticks, Late: s.Late - earlier.Late, le: s.le}
	for i, c := range s.counts {
		if i < len(earlier.counts) {
			c -= earlier.counts[i]
		}
		d.counts = append(d.counts, c)
	}
	return d
}

// Quantile estimates the q-quantile of the lateness in seconds by linear
// interpolation within the histogram bucket that holds it, as Prometheus's
// histogram_quantile does; a quantile in the +Inf bucket reads as the
// largest finite bound, and no observations as 0.
func (s TickScrape) Quantile(q float64) float64 {
	if len(s.counts) == 0 || s.counts[len(s.counts)-1] == 0 {
		return 0
	}
	rank := q * s.counts[len(s.counts)-1]
	lowerLE, lowerCount := 0.0, 0.0
	for i, c := range s.counts {
		if c >= rank {
			if math.IsInf(s.le[i], 1) {
				return lowerLE
			}
			if c == lowerCount {
				return s.le[i]
			}
			return lowerLE + (s.le[i]-lowerLE)*(rank-lowerCount)/(c-lowerCount)
		}
		lowerLE, lowerCount = s.le[i], c
	}
	return lowerLE
}

// Names of the mcu's tick metrics (cmd/mcu/metrics.go).
const (
	metricTicks    = "mcu_mix_ticks_total"
	metricLate     = "mcu_mix_ticks_late_total"
	metricLateness = "mcu_mix_tick_lateness_seconds_bucket"
)

// metricsURL is where the mcu serves /metrics.
func (o Options) metricsURL() string {
	if o.MetricsURL != "" {
		return o.MetricsURL
	}
	return o.URL
}

// ScrapeTicks reads the tick metrics from the mcu whose /metrics is
// under base.
func ScrapeTicks(ctx context.Context, base string) (TickScrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/metrics", nil)
	if err != nil {
		return TickScrape{}, err
	}
	// Its own connection, closed after: a run leaves no goroutine behind.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return TickScrape{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return TickScrape{}, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseTicks(resp.Body)
}

// parseTicks reads the tick metrics out of Prometheus's text format.
func parseTicks(r io.Reader) (TickScrape, error) {
	var s TickScrape
	var seen int
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch {
		case name == metricTicks:
			s.Ticks, seen = v, seen|1
		case name == metricLate:
			s.Late, seen = v, seen|2
		case strings.HasPrefix(name, metricLateness+`{le="`):
			le, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(name, metricLateness+`{le="`), `"}`), 64)
			if err != nil {
				return s, fmt.Errorf("/metrics: bucket %q: %w", name, err)
			}
			s.le, s.counts, seen = append(s.le, le), append(s.counts, v), seen|4
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if seen != 7 {
		return s, fmt.Errorf("/metrics lacks %s, %s or %s", metricTicks, metricLate, metricLateness)
	}
	return s, nil
}
