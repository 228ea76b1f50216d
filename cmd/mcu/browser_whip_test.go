package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// installWHIPWHEP installs the whip-whep package pinned in
// testdata/whipwhep (npm ci) under the test's directory and returns the
// package's directory; it skips the test where npm is missing.
func installWHIPWHEP(t *testing.T) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed: the whip-whep browser client comes from the npm registry")
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "whipwhep", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci whip-whep: %v\n%s", err, out)
	}
	return filepath.Join(dir, "node_modules", "whip-whep")
}

// TestWHIPWHEPBrowser: Medooze's whip-whep clients (npm, ES modules) run in
// headless Chromium on a page of another origin than the MCU's, so every
// request goes through CORS with a token. The WHIP client publishes
// Chromium's fake camera and microphone; the WHEP client views the room:
// it decodes the canvas with everyone in it (the pion participant's red
// tile where the grid puts it, Chromium's camera beside it) and hears the
// mix; the room lists a whip publisher and a whep listener.
func TestWHIPWHEPBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	pkg := installWHIPWHEP(t)
	s, a := authServer(t, func(c *Config) { c.Canvas = "640x360@15"; c.ICEServers = nil })
	page := http.NewServeMux()
	page.Handle("GET /whip-whep/", http.StripPrefix("/whip-whep/", http.FileServer(http.Dir(pkg))))
	page.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("testdata", "whipwhep", "index.html"))
	})
	origin := httptest.NewServer(page)
	defer origin.Close()
	ctx := browser(t)

	joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "ww", Name: "tone", Token: mint(t, a, "ww", "tone", auth.DefaultGrants()),
		ToneHz: 440, RecvVideo: true, Video: &pionclient.VideoOptions{Y: red.y, U: red.u, V: red.v}})

	if err := chromedp.Do(ctx, chromedp.Navigate(origin.URL+"/"), chromedp.Poll[chromedp.Void](`window.ready === true`)); err != nil {
		t.Fatal(err)
	}
	session, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.publish(`+strconv.Quote(s.URL+"/whip/ww")+`, `+strconv.Quote(mint(t, a, "ww", "chromium", auth.Grants{Publish: true}))+`)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("WHIP publish: %v", err)
	}
	if !strings.HasPrefix(session, s.URL+"/whip/ww/") {
		t.Errorf("WHIP session %q", session)
	}
	session, err = chromedp.Run(ctx, chromedp.Evaluate[string](`window.view(`+strconv.Quote(s.URL+"/whep/ww")+`, `+strconv.Quote(mint(t, a, "ww", "viewer", auth.Grants{Subscribe: true}))+`)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("WHEP view: %v", err)
	}
	if !strings.HasPrefix(session, s.URL+"/whep/ww/") {
		t.Errorf("WHEP session %q", session)
	}

	type viewStats struct {
		Connected     bool    `json:"connected"`
		AudioPackets  float64 `json:"audioPackets"`
		AudioLevel    float64 `json:"audioLevel"`
		FramesDecoded float64 `json:"framesDecoded"`
		Width         float64 `json:"width"`
		Height        float64 `json:"height"`
	}
	var st viewStats
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if st, err = chromedp.Run(ctx, chromedp.Evaluate[viewStats](`window.viewStats()`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		if st.Connected && st.AudioPackets > 100 && st.AudioLevel > 0.01 && st.FramesDecoded > 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the WHEP viewer never received the room: %+v", st)
		}
	}
	t.Logf("WHEP viewer: %+v", st)
	if st.Width != 640 || st.Height != 360 {
		t.Errorf("the viewer decodes %vx%v, want the 640x360 canvas", st.Width, st.Height)
	}
	// Two tiles side by side in join order: the pion participant on the
	// left, Chromium's camera on the right (the viewer has none).
	left, right := sample(t, ctx, `window.sample(160, 180)`), sample(t, ctx, `window.sample(480, 180)`)
	t.Logf("viewer's canvas: pion tile %v, Chromium's camera tile %v", left, right)
	if !isRed(left) {
		t.Errorf("pixel at the pion participant's tile is %v, want red", left)
	}
	// The fake camera's picture (green where sampled): neither the
	// placeholder's dark grey nor the pion participant's red.
	if len(right) != 3 || max(right[0], right[1], right[2]) < 80 || isRed(right) {
		t.Errorf("pixel at Chromium's tile is %v, want its camera's picture", right)
	}
	if got := listed(t, s, "ww", func(p *mcuv1.Participant) string { return p.GetIdentity() + "/" + p.GetKind() }); got != "tone/webrtc chromium/whip viewer/whep" {
		t.Errorf("listed %s", got)
	}
	// Both clients leave with DELETE.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`Promise.all([window.whip.stop(), window.whep.stop()])`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	s.waitMetric(t, "mcu_participants", 1, 3*time.Second)
}
