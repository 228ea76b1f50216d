package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/media"
)

// The screen the presentation tests share: a 1920×1080 blue page with
// black vertical stripes 3 px wide every 12 px, as fine as a text's stems.
var (
	screenBlue  = colour{"screen blue", 120, 200, 100}
	screenWidth = 1920
	stripeEvery = 12
)

// shareRegion is where a 1920×1080 share is drawn on a w×h canvas in the
// presentation layout with n tiles.
func shareRegion(w, h, n int) compositor.Rect {
	regs, _ := compositor.Regions(compositor.Presentation(), w, h, n)
	dst, _ := compositor.ContentRect(regs[0].Rect, 1920, 1080, compositor.FitContain)
	return dst
}

// stripesResolved measures the share's stripes on a decoded canvas along
// the middle row of the share's region: for each stripe, the Michelson
// contrast between its darkest pixel and the brightest of the gap after
// it. It returns the fraction of stripes whose contrast is at least 0.3,
// the median contrast, and the gaps' mean chroma.
func stripesResolved(pic *media.VideoFrame, dst compositor.Rect) (resolved, median float64, u, v int) {
	scale := float64(dst.W) / float64(screenWidth)
	at := func(srcX float64) int { return dst.X + int(srcX*scale) }
	y := dst.Y + dst.H/2
	var cs []float64
	var us, vs, samples int
	for k := 2; (k+2)*stripeEvery < screenWidth; k++ {
		lo, hi := 255, 0
		for x := at(float64(k*stripeEvery)) - 1; x <= at(float64(k*stripeEvery)+3); x++ {
			l, _, _ := pic.At(x, y)
			lo = min(lo, int(l))
		}
		for x := at(float64(k*stripeEvery) + 4); x <= at(float64(k*stripeEvery)+11); x++ {
			l, u, v := pic.At(x, y)
			hi = max(hi, int(l))
			us, vs, samples = us+int(u), vs+int(v), samples+1
		}
		cs = append(cs, float64(hi-lo)/float64(max(hi+lo, 1)))
	}
	n := 0
	for _, c := range cs {
		if c >= 0.3 {
			n++
		}
	}
	sorted := slices.Sorted(slices.Values(cs))
	return float64(n) / float64(len(cs)), sorted[len(sorted)/2], us / max(samples, 1), vs / max(samples, 1)
}

// TestPresentationEndToEnd: a participant with a camera (red) and a
// second video track (a striped blue "screen") makes every canvas show the
// screen large, its stripes still resolved after the MCU's scaling and
// encoding; when the share stops the grid returns; and a participant who
// starts talking has its tile highlighted within 1.5 s.
func TestPresentationEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: a 1080p share through a 720p canvas")
	}
	const W, H = 1280, 720
	s := startServer(t, func(c *Config) {
		c.Canvas = fmt.Sprintf("%dx%d@5", W, H)
		c.Ladder = fmt.Sprintf("%dx%d@5:1500k", W, H)
	})
	alice := joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "share", Name: "alice", RecvVideo: true,
		Video:  &pionclient.VideoOptions{Y: red.y, U: red.u, V: red.v, FPS: 5},
		Screen: &pionclient.VideoOptions{Y: screenBlue.y, U: screenBlue.u, V: screenBlue.v, Stripes: stripeEvery, BitrateBps: 2_000_000, Loop: 10}})
	bob := joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "share", Name: "bob", RecvVideo: true,
		Video: &pionclient.VideoOptions{Y: green.y, U: green.u, V: green.v, FPS: 5}})
	clients := []*pionclient.Client{alice, bob}

	// Everyone sees the share large, sharp, and the cameras beside it.
	dst := shareRegion(W, H, 3)
	regs, _ := compositor.Regions(compositor.Presentation(), W, H, 3)
	for i, c := range clients {
		var detail string
		waitFor(t, 30*time.Second, func() bool {
			pic, _ := c.LatestVideo()
			if pic == nil || pic.Width != W {
				return false
			}
			res, med, u, v := stripesResolved(pic, dst)
			cam := regs[1].Rect
			cy, cu, cv := pic.At(cam.X+cam.W/2, cam.Y+cam.H/2)
			detail = fmt.Sprintf("stripes resolved %.2f, median contrast %.2f, share chroma %d,%d, first camera %d,%d,%d", res, med, u, v, cy, cu, cv)
			blue := absDiff(byte(u), screenBlue.u) < 24 && absDiff(byte(v), screenBlue.v) < 24
			return blue && res >= 0.9 && med >= 0.3 && absDiff(cv, red.v) < 30
		}, func() string { return fmt.Sprintf("client %d never saw the share: %s", i, detail) })
		t.Logf("client %d: %s", i, detail)
	}
	if dir := os.Getenv("MCU_SCREENSHOTS"); dir != "" {
		pic, _ := bob.LatestVideo()
		savePNG(t, filepath.Join(dir, "canvas-presentation.png"), pic)
	}

	// The share ends: the grid of the two cameras returns.
	alice.StopScreen()
	waitCanvasSize(t, clients, W, H, cols(red, green), 15*time.Second)

	// Bob starts talking: his tile gets the highlight border.
	border := compositor.Rect{X: W/2 + 4, Y: 40} // inside the border, in the letterbox bar above his camera
	highlighted := func(c *pionclient.Client) bool {
		pic, _ := c.LatestVideo()
		if pic == nil {
			return false
		}
		y, u, _ := pic.At(border.X, border.Y)
		return absDiff(y, yellow.y) < 40 && absDiff(u, yellow.u) < 40
	}
	time.Sleep(1500 * time.Millisecond) // past the hold of anything heard so far
	if highlighted(alice) {
		t.Fatal("bob's tile is highlighted before he talks")
	}
	start := time.Now()
	bob.SetTone(440)
	waitFor(t, 10*time.Second, func() bool { return highlighted(alice) }, func() string { return "bob's tile never highlighted" })
	took := time.Since(start)
	t.Logf("talking highlight after %v", took)
	if dir := os.Getenv("MCU_SCREENSHOTS"); dir != "" {
		pic, _ := alice.LatestVideo()
		savePNG(t, filepath.Join(dir, "canvas-talking.png"), pic)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("highlight after %v, want within 1.5 s", took)
	}
}

// waitFor polls cond every 50 ms until it holds, failing with why() after
// within.
func waitFor(t *testing.T, within time.Duration, cond func() bool, why func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(why())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCanvasSize waits until every client's composite (w×h) shows the grid
// of want.
func waitCanvasSize(t *testing.T, clients []*pionclient.Client, w, h int, want []*colour, within time.Duration) {
	t.Helper()
	for i, c := range clients {
		var detail string
		waitFor(t, within, func() bool {
			pic, _ := c.LatestVideo()
			if pic == nil || pic.Width != w || pic.Height != h {
				return false
			}
			ok, d := cellsMatch(pic, want)
			detail = d
			return ok
		}, func() string { return fmt.Sprintf("client %d never saw the grid; last:%s", i, detail) })
	}
}

// savePNG writes a decoded canvas as PNG (video-range YUV to RGB).
func savePNG(t *testing.T, path string, f *media.VideoFrame) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	for y := range f.Height {
		for x := range f.Width {
			yy, u, v := f.At(x, y)
			c := color.YCbCr{Y: byte(min(255, max(0, (int(yy)-16)*255/219))), Cb: u, Cr: v}
			r, g, b, _ := c.RGBA()
			img.Set(x, y, color.RGBA{byte(r >> 8), byte(g >> 8), byte(b >> 8), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
