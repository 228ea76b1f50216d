package load

import (
	"math"
	"strings"
	"testing"
)

const scrape0 = `# HELP mcu_mix_tick_lateness_seconds How late each audio mix tick started after its deadline.
# TYPE mcu_mix_tick_lateness_seconds histogram
mcu_mix_tick_lateness_seconds_bucket{le="0.001"} 10
mcu_mix_tick_lateness_seconds_bucket{le="0.002"} 10
mcu_mix_tick_lateness_seconds_bucket{le="0.005"} 10
mcu_mix_tick_lateness_seconds_bucket{le="+Inf"} 10
mcu_mix_tick_lateness_seconds_sum 0.003
mcu_mix_tick_lateness_seconds_count 10
mcu_mix_ticks_late_total 0
mcu_mix_ticks_total 10
`

// The same mcu 200 ticks later: of the 200, 100 started within 1 ms, 98
// within 1-2 ms, and 2 over 5 ms (late).
const scrape1 = `mcu_mix_tick_lateness_seconds_bucket{le="0.001"} 110
mcu_mix_tick_lateness_seconds_bucket{le="0.002"} 208
mcu_mix_tick_lateness_seconds_bucket{le="0.005"} 208
mcu_mix_tick_lateness_seconds_bucket{le="+Inf"} 210
mcu_mix_ticks_late_total 2
mcu_mix_ticks_total 210
`

// TestTickLateness: the window's ticks, late share and lateness quantiles
// come from the difference of two scrapes, interpolated within buckets.
func TestTickLateness(t *testing.T) {
	a, err := parseTicks(strings.NewReader(scrape0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseTicks(strings.NewReader(scrape1))
	if err != nil {
		t.Fatal(err)
	}
	d := b.Since(a)
	if d.Ticks != 200 || d.Late != 2 {
		t.Fatalf("ticks %v, late %v", d.Ticks, d.Late)
	}
	for _, tc := range []struct{ q, want float64 }{
		{0.5, 0.001},                  // the 100th of 200: the top of the first bucket
		{0.25, 0.0005},                // halfway into it
		{0.99, 0.001 + 0.001*98/98},   // the 198th: the top of 1-2 ms
		{0.995, 0.005},                // the 199th: in +Inf, read as the largest bound
		{0.98, 0.001 + 0.001*96/98.0}, // the 196th
	} {
		if got := d.Quantile(tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("q%.3f = %.6f s, want %.6f", tc.q, got, tc.want)
		}
	}
	if (TickScrape{}).Quantile(0.5) != 0 {
		t.Error("no observations should read as 0")
	}
	if _, err := parseTicks(strings.NewReader("mcu_mix_ticks_total 3\n")); err == nil {
		t.Error("a scrape without the histogram was accepted")
	}
}

func TestLossShare(t *testing.T) {
	for _, tc := range []struct {
		received, expected int
		want               float64
	}{{90, 100, 0.1}, {100, 100, 0}, {101, 100, 0}, {0, 0, 0}} {
		if got := lossShare(tc.received, tc.expected); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("lossShare(%d, %d) = %v, want %v", tc.received, tc.expected, got, tc.want)
		}
	}
}
