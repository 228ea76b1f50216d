package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/testkit/netshape"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/internal/testkit/svgplot"
)

// The ladder tests use a 640×360 canvas so that the race detector's
// slowdown of the Go compositor still leaves the clocks at rate on two
// cores; the rungs keep bitrates that matter for the links under test
// (top 1.2 Mb/s, middle 500 kb/s, lowest 100 kb/s at 15 fps). The lowest
// is below the default 150 kb/s: on the wire our 40 kb/s of Opus takes
// 64 kb/s (measured with tc's counters), and 150 kb/s of video plus audio
// took 295 kb/s, the whole of a 300 kb/s link, leaving a probe no room.
const (
	ladderCanvas = "640x360@30"
	testLadder   = "640x360@30:1200k,320x180@30:500k,160x90@15:100k"
)

// shapedReport is one line from the shaped receiver process.
type shapedReport struct {
	ID         string  `json:"id,omitempty"` // first line: its participant ID
	T          float64 `json:"t"`            // seconds since it joined
	VideoRecv  int     `json:"video_recv"`   // video RTP packets (padding included)
	VideoExp   int     `json:"video_exp"`
	VideoBytes int     `json:"video_bytes"`
	Frames     int     `json:"frames"` // decoded composite frames
	Width      int     `json:"width"`
	AudioRecv  int     `json:"audio_recv"`
	AudioExp   int     `json:"audio_exp"`
	AudioGapMs float64 `json:"audio_gap_ms"` // longest audio gap in the last window
	Err        string  `json:"err,omitempty"`
}

// TestHelperShapedReceiver is not a test: it is the shaped receiver's
// process, started by TestLadder inside a network namespace (as the Go
// standard library's os/exec tests re-run their own binary). It joins,
// reports every 250 ms on stdout, and leaves when stdin closes.
func TestHelperShapedReceiver(t *testing.T) {
	url, iface := os.Getenv("MCU_SHAPED_URL"), os.Getenv("MCU_SHAPED_IF")
	if url == "" {
		return
	}
	out := json.NewEncoder(os.Stdout)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := pionclient.Join(ctx, pionclient.Options{BaseURL: url, Room: "ladder", Name: "shaped", ToneHz: 500, RecvVideo: true,
		Feedback: true, Interfaces: []string{iface}, Video: &pionclient.VideoOptions{Y: 80, U: 90, V: 200, Moving: true, Noise: true}})
	if err == nil {
		err = c.WaitConnected(ctx)
	}
	if err != nil {
		_ = out.Encode(shapedReport{Err: err.Error()})
		return
	}
	defer c.Close()
	_ = out.Encode(shapedReport{ID: path.Base(c.Location)})
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	start := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	seen := 0
	for {
		select {
		case <-done:
			_, _ = c.Leave(context.Background())
			c.Close()
			http.DefaultClient.CloseIdleConnections()
			return
		case <-tick.C:
		}
		v, vb := c.VideoPackets()
		a := c.AudioPackets()
		pic, frames := c.LatestVideo()
		r := shapedReport{T: time.Since(start).Seconds(), VideoRecv: v.Received, VideoExp: v.Expected, VideoBytes: vb,
			Frames: frames, AudioRecv: a.Received, AudioExp: a.Expected}
		if pic != nil {
			r.Width = pic.Width
		}
		fs := c.Frames()
		last := time.Now()
		if len(fs) > 0 {
			last = fs[len(fs)-1].At
		}
		r.AudioGapMs = time.Since(last).Seconds() * 1000
		for i := max(seen, 1); i < len(fs); i++ {
			r.AudioGapMs = max(r.AudioGapMs, fs[i].At.Sub(fs[i-1].At).Seconds()*1000)
		}
		seen = len(fs)
		_ = out.Encode(r)
	}
}

// ladderSample is the test's view at one moment.
type ladderSample struct {
	at            time.Duration // since the shaped receiver joined
	rx            shapedReport
	rung, topRung int // the shaped receiver's and the good one's
	estimate      float64
	topKeyFrames  int     // keyframes the good receiver got
	forcedTop     float64 // keyframes forced on the top rung
	encoders      [3]float64
	rateKbps      int // the link's shaping (0: none)
	linkBytes     int // sent through the bottleneck so far
	linkDropped   int // packets it dropped so far
}

// TestLadder puts one receiver behind a tc-shaped link in a network
// namespace and another on loopback, in one room, and follows the shaped
// one down the ladder, back up, into audio only and out again. It needs
// root, iproute2 and network namespaces, and skips (saying which is
// missing) without them and in -short.
func TestLadder(t *testing.T) {
	link := netshape.NewForTest(t)
	s := startServer(t, func(c *Config) {
		c.HTTP = link.HostIP + ":0"
		c.Interfaces = []string{"lo", link.HostIf}
		c.Canvas = ladderCanvas
		c.Ladder = testLadder
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	good, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "ladder", Name: "good", ToneHz: 700, RecvVideo: true,
		Feedback: true, Video: &pionclient.VideoOptions{Y: 150, U: 60, V: 60, Moving: true, Noise: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(good.Close)
	if err := good.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	goodID := path.Base(good.Location)
	if err := link.SetRate(300, 200); err != nil {
		t.Fatal(err)
	}

	rx := startShapedReceiver(t, link, s.URL)
	var trace []ladderSample
	rate := 300
	start := time.Now()
	sample := func() ladderSample {
		r := rx.latest()
		m := scrapeMetrics(t, s)
		ls := ladderSample{at: time.Since(start), rx: r, rateKbps: rate,
			rung: int(m.get("mcu_receiver_rung", rx.id)), topRung: int(m.get("mcu_receiver_rung", goodID)),
			estimate: m.get("mcu_receiver_estimate_bps", rx.id), topKeyFrames: len(good.KeyFrames())}
		ls.forcedTop = m.get("mcu_video_rung_keyframes_forced_total", "0")
		ls.linkBytes, ls.linkDropped, _ = link.Stats()
		for i := range ls.encoders {
			ls.encoders[i] = m.get("mcu_video_rung_encoders", strconv.Itoa(i))
		}
		trace = append(trace, ls)
		if os.Getenv("MCU_LADDER_TRACE") != "" {
			t.Logf("%v rung %d est %.0f link %d B dropped %d rx video %d/%d audio %d/%d", ls.at.Round(time.Millisecond), ls.rung, ls.estimate/1000, ls.linkBytes, ls.linkDropped, ls.rx.VideoRecv, ls.rx.VideoExp, ls.rx.AudioRecv, ls.rx.AudioExp)
		}
		return ls
	}
	// waitFor samples every 250 ms until cond holds; the good receiver
	// must stay on the top rung all along.
	waitFor := func(what string, within time.Duration, cond func(ladderSample) bool) ladderSample {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			ls := sample()
			if ls.topRung != 0 {
				t.Fatalf("%v: the unconstrained receiver left the top rung (%d)", ls.at.Round(time.Millisecond), ls.topRung)
			}
			if cond(ls) {
				t.Logf("%v: %s (estimate %.0f kb/s)", ls.at.Round(100*time.Millisecond), what, ls.estimate/1000)
				return ls
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v (rung %d, estimate %.0f kb/s)", what, within, ls.rung, ls.estimate/1000)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	hold := func(d time.Duration, check func(ladderSample)) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			check(sample())
		}
	}
	defer func() { writeLadderPlot(t, trace) }()

	// 1. Behind 300 kb/s: the lowest rung within 10 s of joining, then
	// steady with little loss and frames decoding.
	waitFor("the shaped receiver left the top rung", 10*time.Second, func(ls ladderSample) bool { return ls.rung > 0 || ls.rung == -1 })
	leftTop := sample()
	// Keyframes its PLIs asked of the top rung just before it left may
	// still be on their way (forced within 300 ms): count from after them.
	time.Sleep(500 * time.Millisecond)
	kfBase := sample().forcedTop
	low := waitFor("the shaped receiver is on the lowest rung", 10*time.Second-leftTop.at+time.Duration(0), func(ls ladderSample) bool { return ls.rung == 2 })
	if low.at > 10*time.Second {
		t.Fatalf("lowest rung after %v, want within 10 s", low.at)
	}
	time.Sleep(2 * time.Second) // the queue drains
	from := sample()
	hold(6*time.Second, func(ls ladderSample) {
		if ls.rung != 2 || ls.topRung != 0 {
			t.Fatalf("%v: rungs %d and %d while shaped, want 2 and 0", ls.at, ls.rung, ls.topRung)
		}
	})
	to := sample()
	vLoss := lossBetween(from.rx.VideoRecv, from.rx.VideoExp, to.rx.VideoRecv, to.rx.VideoExp)
	aLoss := lossBetween(from.rx.AudioRecv, from.rx.AudioExp, to.rx.AudioRecv, to.rx.AudioExp)
	fps := float64(to.rx.Frames-from.rx.Frames) / (to.at - from.at).Seconds()
	t.Logf("at 300 kb/s on the lowest rung: video loss %.1f%%, audio loss %.1f%%, %.1f frames/s decoded at width %d", vLoss*100, aLoss*100, fps, to.rx.Width)
	if vLoss > 0.05 || aLoss > 0.05 || fps < 10 || to.rx.Width != 160 {
		t.Fatalf("the shaped receiver does not keep a smooth lowest rung")
	}
	if to.encoders != [3]float64{1, 0, 1} {
		t.Fatalf("encoders per rung %v, want [1 0 1]: only the rungs in use", to.encoders)
	}

	// 2. The limit lifts: back to the top within 20 s.
	rate = 0
	if err := link.SetRate(0, 0); err != nil {
		t.Fatal(err)
	}
	lifted := sample()
	// It climbs one rung at a time, each after a probe.
	mid := waitFor("the shaped receiver climbed to the middle rung", 20*time.Second, func(ls ladderSample) bool { return ls.rung == 1 })
	top := waitFor("the shaped receiver is back on the top rung", 20*time.Second-(mid.at-lifted.at), func(ls ladderSample) bool { return ls.rung == 0 })
	t.Logf("climbed back in %v", (top.at - lifted.at).Round(100*time.Millisecond))
	// Keyframe isolation: while the shaped receiver moved onto and
	// between the lower rungs, no keyframe was forced on the top rung,
	// where the good receiver stayed (its encoder's own periodic keyframes,
	// at most one per 10 s, are not forced).
	if n := mid.forcedTop - kfBase; n != 0 {
		t.Fatalf("%v keyframes forced on the top rung while the other receiver switched between lower rungs", n)
	}

	// 3. Below 80 kb/s: video pauses, audio goes on.
	rate = 64
	if err := link.SetRate(64, 200); err != nil {
		t.Fatal(err)
	}
	paused := waitFor("video paused at 64 kb/s", 15*time.Second, func(ls ladderSample) bool { return ls.rung == -1 })
	time.Sleep(2 * time.Second)
	from = sample()
	var worstGap float64
	hold(6*time.Second, func(ls ladderSample) {
		worstGap = max(worstGap, ls.rx.AudioGapMs)
		if ls.rung != -1 {
			t.Fatalf("%v: rung %d at 64 kb/s, want paused", ls.at, ls.rung)
		}
	})
	to = sample()
	aLoss = lossBetween(from.rx.AudioRecv, from.rx.AudioExp, to.rx.AudioRecv, to.rx.AudioExp)
	t.Logf("at 64 kb/s, paused: longest audio gap %.0f ms, audio loss %.1f%%, %d frames", worstGap, aLoss*100, to.rx.Frames-from.rx.Frames)
	if worstGap > 100 || to.rx.Frames-from.rx.Frames > 2 {
		t.Fatalf("paused video must leave audio continuous (gap %.0f ms) and send no frames (%d)", worstGap, to.rx.Frames-from.rx.Frames)
	}
	if to.encoders != [3]float64{1, 0, 0} {
		t.Fatalf("encoders per rung %v while one receiver is paused, want [1 0 0]", to.encoders)
	}

	// 4. The limit lifts: video resumes.
	rate = 0
	if err := link.SetRate(0, 0); err != nil {
		t.Fatal(err)
	}
	resumed := waitFor("video resumed", 20*time.Second, func(ls ladderSample) bool { return ls.rung >= 0 })
	time.Sleep(time.Second)
	after := sample()
	if after.rx.Frames <= resumed.rx.Frames {
		t.Fatal("no frames decoded after video resumed")
	}
	if after.rung != 0 {
		// Resuming onto a lower rung must not have disturbed the top.
		if n := after.forcedTop - paused.forcedTop; n != 0 {
			t.Fatalf("%v keyframes forced on the top rung while the other receiver paused and resumed", n)
		}
	}
}

// lossBetween is the loss fraction between two cumulative counts.
func lossBetween(recv0, exp0, recv1, exp1 int) float64 {
	if exp1 <= exp0 {
		return 1
	}
	return max(0, 1-float64(recv1-recv0)/float64(exp1-exp0))
}

// shapedReceiver is the receiver process inside the namespace.
type shapedReceiver struct {
	id    string
	lines chan shapedReport
	last  shapedReport
}

func (r *shapedReceiver) latest() shapedReport {
	for {
		select {
		case l := <-r.lines:
			r.last = l
		default:
			return r.last
		}
	}
}

// startShapedReceiver runs this test binary's TestHelperShapedReceiver
// inside the link's namespace and waits for it to join.
func startShapedReceiver(t *testing.T, link *netshape.Link, url string) *shapedReceiver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := link.Command(ctx, os.Args[0], "-test.run=^TestHelperShapedReceiver$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MCU_SHAPED_URL="+url, "MCU_SHAPED_IF="+link.PeerIf)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &shapedReceiver{lines: make(chan shapedReport, 1024)}
	first := make(chan shapedReport, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		gotFirst := false
		for sc.Scan() {
			var l shapedReport
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue // the test framework's own output
			}
			if !gotFirst {
				gotFirst = true
				first <- l
				continue
			}
			select {
			case r.lines <- l:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // it leaves and exits
		waited := make(chan error, 1)
		go func() { <-readDone; waited <- cmd.Wait() }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			cancel()
			<-waited
		}
		cancel()
	})
	select {
	case l := <-first:
		if l.Err != "" || l.ID == "" {
			t.Fatalf("shaped receiver: %q", l.Err)
		}
		r.id = l.ID
	case <-time.After(30 * time.Second):
		t.Fatal("the shaped receiver did not join")
	}
	return r
}

// metrics is one scrape of /metrics.
type metrics []byte

func scrapeMetrics(t *testing.T, s *testServer) metrics {
	t.Helper()
	res, err := http.Get(s.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return b
}

// get is the first sample of name whose labels include the value label
// (-99 if none).
func (m metrics) get(name, label string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\{[^}]*"` + regexp.QuoteMeta(label) + `"[^}]*\} (\S+)$`)
	sm := re.FindSubmatch(m)
	if sm == nil {
		return -99
	}
	v, _ := strconv.ParseFloat(string(sm[1]), 64)
	return v
}

// writeLadderPlot writes the shaped receiver's estimate, rung and received
// bitrate over time as SVG and CSV when MCU_LADDER_PLOT names a directory.
func writeLadderPlot(t *testing.T, trace []ladderSample) {
	dir := os.Getenv("MCU_LADDER_PLOT")
	if dir == "" || len(trace) < 2 {
		return
	}
	est := svgplot.Series{Name: "estimate (kb/s)", Colour: "#36c"}
	recv := svgplot.Series{Name: "received video (kb/s)", Colour: "#2a6"}
	rung := svgplot.Series{Name: "rung bitrate (kb/s)", Colour: "#c33", Step: true}
	link := svgplot.Series{Name: "link limit (kb/s)", Colour: "#888", Step: true}
	rates := []float64{1200, 500, 150}
	csv := "t_s,link_kbps,rung,rung_kbps,estimate_kbps,received_kbps\n"
	for i := 1; i < len(trace); i++ {
		a, b := trace[i-1], trace[i]
		x := b.at.Seconds()
		kbps := float64(b.rx.VideoBytes-a.rx.VideoBytes) * 8 / 1000 / (b.at - a.at).Seconds()
		r := -1.0
		if b.rung >= 0 && b.rung < len(rates) {
			r = rates[b.rung]
		}
		l := -1.0
		if b.rateKbps > 0 {
			l = float64(b.rateKbps)
		}
		est.X, est.Y = append(est.X, x), append(est.Y, b.estimate/1000)
		recv.X, recv.Y = append(recv.X, x), append(recv.Y, kbps)
		rung.X, rung.Y = append(rung.X, x), append(rung.Y, max(r, 0))
		link.X, link.Y = append(link.X, x), append(link.Y, l)
		csv += fmt.Sprintf("%.2f,%d,%d,%.0f,%.0f,%.0f\n", x, b.rateKbps, b.rung, max(r, 0), b.estimate/1000, kbps)
	}
	svg := svgplot.Line(svgplot.Chart{XLabel: "seconds since the shaped receiver joined", YLabel: "kb/s", Width: 900, Height: 420},
		[]svgplot.Series{link, est, rung, recv})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Error(err)
		return
	}
	for name, body := range map[string]string{"ladder.svg": svg, "ladder.csv": csv} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Error(err)
		}
	}
}
