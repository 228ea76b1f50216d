package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/media"
)

// colour is a solid YUV (BT.601, video range) test colour.
type colour struct {
	name    string
	y, u, v byte
}

var (
	red    = colour{"red", 81, 90, 240}
	green  = colour{"green", 145, 54, 34}
	blue   = colour{"blue", 41, 240, 110}
	white  = colour{"white", 235, 128, 128}
	yellow = colour{"yellow", 210, 16, 146}
	cyan   = colour{"cyan", 170, 166, 16}
)

// The canvas the video tests use: small enough that the race detector's
// instrumentation of the pure-Go scaler (roughly 10× slower) still keeps
// the video clock at rate on a 2-core CI machine.
const canvasW, canvasH, canvasFPS = 320, 180, 15

func videoServer(t *testing.T, excludeSelf bool) *testServer {
	return startServer(t, func(c *Config) {
		c.Canvas = fmt.Sprintf("%dx%d@%d", canvasW, canvasH, canvasFPS)
		c.ExcludeSelf = excludeSelf
	})
}

// joinReady joins a participant as o says, waits (15 s at most) until it
// is connected and closes it when the test ends.
func joinReady(t *testing.T, o pionclient.Options) *pionclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := pionclient.Join(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// joinVideo joins a participant sending col as its camera (and a tone) who
// receives the composite.
func joinVideo(t *testing.T, s *testServer, room string, col colour) *pionclient.Client {
	t.Helper()
	return joinReady(t, pionclient.Options{BaseURL: s.URL, Room: room, Name: col.name, ToneHz: 300,
		Video: &pionclient.VideoOptions{Y: col.y, U: col.u, V: col.v}, RecvVideo: true})
}

// cellsMatch reports whether pic shows want[i] at the centre of the i-th
// grid cell (nil entries: don't care), with a tolerance for coding loss.
func cellsMatch(pic *media.VideoFrame, want []*colour) (bool, string) {
	regions, err := compositor.Regions(compositor.Grid(), pic.Width, pic.Height, len(want))
	if err != nil {
		return false, err.Error()
	}
	var got string
	ok := true
	for i, r := range regions {
		y, u, v := pic.At(r.Rect.X+r.Rect.W/2, r.Rect.Y+r.Rect.H/2)
		got += fmt.Sprintf(" [%d: %d,%d,%d]", i, y, u, v)
		if c := want[i]; c != nil && (absDiff(y, c.y) > 16 || absDiff(u, c.u) > 16 || absDiff(v, c.v) > 16) {
			ok = false
		}
	}
	return ok, got
}

func absDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// waitCanvas waits until every client's latest composite shows want(i).
func waitCanvas(t *testing.T, clients []*pionclient.Client, want func(i int) []*colour, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for i, c := range clients {
		for {
			pic, n := c.LatestVideo()
			var detail string
			if pic != nil {
				if pic.Width != canvasW || pic.Height != canvasH {
					t.Fatalf("client %d receives %dx%d, want the %dx%d canvas", i, pic.Width, pic.Height, canvasW, canvasH)
				}
				var ok bool
				if ok, detail = cellsMatch(pic, want(i)); ok {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("client %d (%d frames decoded) never saw the expected grid; last:%s", i, n, detail)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func cols(cs ...colour) []*colour {
	out := make([]*colour, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	return out
}

// TestVideoGrid: four participants see the 2×2 grid of their cameras in
// join order; a fifth makes it 3×2; one leaving re-flows it; a receiver's
// PLI yields a keyframe within a second; everyone shares one encoder.
func TestVideoGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC video test")
	}
	s := videoServer(t, false)
	order := []colour{red, green, blue, white}
	var clients []*pionclient.Client
	for _, col := range order {
		clients = append(clients, joinVideo(t, s, "grid", col))
	}
	same := func(cs []colour) func(int) []*colour { return func(int) []*colour { return cols(cs...) } }
	waitCanvas(t, clients, same(order), 15*time.Second)
	if enc := s.metric(t, "mcu_video_encoders"); enc != 1 {
		t.Errorf("%v canvas encoders for one shared view, want 1", enc)
	}

	fifth := joinVideo(t, s, "grid", yellow)
	clients = append(clients, fifth)
	order = append(order, yellow)
	waitCanvas(t, clients, same(order), 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if code, err := clients[1].Leave(ctx); err != nil || code != 204 {
		t.Fatalf("leave: %d %v", code, err)
	}
	clients[1].Close()
	clients = append(clients[:1], clients[2:]...)
	order = []colour{red, blue, white, yellow}
	waitCanvas(t, clients, same(order), 10*time.Second)

	// A receiver's PLI: a keyframe within a second.
	c := clients[0]
	before, plis := len(c.KeyFrames()), c.PLIsSent()
	asked := time.Now()
	if err := c.SendPLI(); err != nil {
		t.Fatal(err)
	}
	if n := c.PLIsSent() - plis; n != 1 {
		t.Fatalf("the client counts %d PLIs for one", n)
	}
	for {
		if kf := c.KeyFrames(); len(kf) > before {
			t.Logf("keyframe %v after PLI", kf[before].Sub(asked))
			break
		}
		if time.Since(asked) > time.Second {
			t.Fatal("no keyframe within 1 s of a PLI")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// One receiver flooding PLIs cannot turn the shared stream into
	// keyframes: at most one per 300 ms reaches everyone.
	watcher := clients[1]
	before = len(watcher.KeyFrames())
	flood := time.Now()
	for time.Since(flood) < 2*time.Second {
		_ = c.SendPLI()
		time.Sleep(20 * time.Millisecond)
	}
	got := len(watcher.KeyFrames()) - before
	t.Logf("%d keyframes during a 2 s PLI flood", got)
	if got > 8 {
		t.Errorf("%d keyframes in 2 s of PLIs every 20 ms: not rate-limited", got)
	}
	if got < 2 {
		t.Errorf("only %d keyframes in 2 s of PLIs: requests are not served", got)
	}
}

// TestVideoExcludeSelf: with exclude_self each participant sees only the
// others, in join order.
func TestVideoExcludeSelf(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC video test")
	}
	s := videoServer(t, true)
	order := []colour{red, green, blue}
	var clients []*pionclient.Client
	for _, col := range order {
		clients = append(clients, joinVideo(t, s, "mirrorless", col))
	}
	waitCanvas(t, clients, func(i int) []*colour {
		var others []colour
		for j, c := range order {
			if j != i {
				others = append(others, c)
			}
		}
		return cols(others...)
	}, 15*time.Second)
	if enc := s.metric(t, "mcu_video_encoders"); enc != 3 {
		t.Errorf("%v canvas encoders for three personal views, want 3", enc)
	}
}

// TestVideoBadSenders: a participant sending garbage VP8 and one that stops
// sending do not disturb the others: their cells stay correct, the broken
// ones become placeholders, and the video clock keeps its rate.
func TestVideoBadSenders(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC video test")
	}
	s := videoServer(t, false)
	a := joinVideo(t, s, "bad", red)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	garbage, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "bad", Name: "garbage", ToneHz: 300,
		Video: &pionclient.VideoOptions{Garbage: true}, RecvVideo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	stopper := joinVideo(t, s, "bad", blue)
	clients := []*pionclient.Client{a, stopper}
	// Garbage never decodes: its cell is the placeholder (dark, not red or
	// blue); the others are right.
	waitCanvas(t, clients, func(int) []*colour { return []*colour{&red, nil, &blue} }, 15*time.Second)
	ticks0, at0 := s.metric(t, "mcu_video_ticks_total"), time.Now()

	stopper.StopVideo()
	time.Sleep(frozenForTest + time.Second)
	pic, _ := a.LatestVideo()
	regions, _ := compositor.Regions(compositor.Grid(), canvasW, canvasH, 3)
	for i, r := range regions[1:] {
		// Placeholders: a dark grey tile (text only near the middle),
		// sampled inside the talking highlight's border (at most an
		// eighth of the cell; the garbage sender's tone makes it talk).
		y, u, v := pic.At(r.Rect.X+r.Rect.W/8+4, r.Rect.Y+r.Rect.H/8+4)
		if y > 70 || absDiff(u, 128) > 10 || absDiff(v, 128) > 10 {
			t.Errorf("cell %d corner %d,%d,%d: want a dark placeholder", i+1, y, u, v)
		}
	}
	if ok, got := cellsMatch(pic, []*colour{&red, nil, nil}); !ok {
		t.Errorf("the good participant's cell is disturbed:%s", got)
	}
	rate := (s.metric(t, "mcu_video_ticks_total") - ticks0) / time.Since(at0).Seconds()
	if rate < canvasFPS*0.9 {
		t.Errorf("video clock ran at %.1f fps, want %d", rate, canvasFPS)
	}
	if errs := s.metric(t, "mcu_video_decode_errors_total"); errs != 0 {
		t.Logf("%v undecodable frames rejected", errs)
	}
}

// frozenForTest mirrors room's 2 s freeze before a placeholder.
const frozenForTest = 2 * time.Second
