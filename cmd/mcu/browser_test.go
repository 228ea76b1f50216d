package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// chromiumFlags keep headless Chromium on this machine: no background
// traffic, no name resolution but localhost, real IPs in ICE candidates,
// fake microphone and camera without a permission prompt.
var chromiumFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", "new"),
	chromedp.Flag("no-sandbox", true),
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("no-first-run", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-extensions", true),
	chromedp.Flag("disable-default-apps", true),
	chromedp.Flag("disable-domain-reliability", true),
	chromedp.Flag("no-pings", true),
	chromedp.Flag("no-proxy-server", true),
	chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
	chromedp.Flag("use-fake-ui-for-media-stream", true),
	chromedp.Flag("use-fake-device-for-media-stream", true),
	chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("Debian chromium not found: run `make deps-test` (or set CHROMIUM)")
	return ""
}

// browser starts headless Chromium for the test, with extra flags if
// any; it stops when the test ends.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(chromiumPath(t)), chromedp.UserDataDir(t.TempDir())}, chromiumFlags...)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(func() {
		cancel()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

// sample evaluates a page's pixel sampler, which returns [r, g, b].
func sample(t *testing.T, ctx context.Context, expr string) []int {
	t.Helper()
	rgb, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](expr))
	if err != nil {
		t.Fatal(err)
	}
	return rgb
}

// isRed reports whether an [r, g, b] sampled from a decoded canvas is our
// test red, with a tolerance for coding loss.
func isRed(rgb []int) bool { return len(rgb) == 3 && rgb[0] >= 180 && rgb[1] <= 80 && rgb[2] <= 80 }

// pageStats is window.mcuStats.
type pageStats struct {
	Connected       bool    `json:"connected"`
	PacketsReceived float64 `json:"packetsReceived"`
	AudioLevel      float64 `json:"audioLevel"`
	Meter           float64 `json:"meter"`
	FramesDecoded   float64 `json:"framesDecoded"`
	FrameWidth      float64 `json:"frameWidth"`
	FrameHeight     float64 `json:"frameHeight"`
	VideoCodec      string  `json:"videoCodec"`
	// The selected candidate pair's local candidate: host, srflx or
	// relay, and for a relay how the browser reaches the TURN server.
	CandidateType string `json:"candidateType"`
	RelayProtocol string `json:"relayProtocol"`
}

// joinPage opens the page at query, joins room and waits until it reports
// audio and video, returning the page's statistics.
func joinPage(t *testing.T, ctx context.Context, url, room string) pageStats {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.SetValue(chromedp.ID("room"), room),
		chromedp.SetValue(chromedp.ID("name"), "chromium"),
		chromedp.Click(chromedp.ID("join")),
		chromedp.WaitVisible(chromedp.ID("call")),
	)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		stats, err := chromedp.Run(ctx, chromedp.Evaluate[pageStats](`window.mcuStats`))
		if err != nil {
			t.Fatal(err)
		}
		if stats.Connected && stats.PacketsReceived > 100 && stats.AudioLevel > 0.01 && stats.Meter > 0 && stats.FramesDecoded > 10 {
			return stats
		}
		if time.Now().After(deadline) {
			status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
			t.Fatalf("page never reported received audio and video: %+v (status %q)", stats, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// joinRedTone joins a pion client to room that plays a tone and shows
// red, with token if any, and waits until it is connected; it leaves when
// the test ends.
func joinRedTone(t *testing.T, ctx context.Context, s *testServer, room, token string) *pionclient.Client {
	t.Helper()
	tone, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: room, Name: "tone", Token: token, ToneHz: 440,
		Video: &pionclient.VideoOptions{Y: red.y, U: red.u, V: red.v}, RecvVideo: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tone.Close)
	if err := tone.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return tone
}

// wantRedTile fails the test unless the page's composite is red at the
// centre of the left one of two tiles, the pion client's, at whatever
// rung of the ladder the page receives.
func wantRedTile(t *testing.T, ctx context.Context) {
	t.Helper()
	rgb := sample(t, ctx, `(() => {
		const v = document.getElementById("remote");
		return window.mcuSample(Math.floor(v.videoWidth / 4), Math.floor(v.videoHeight / 2));
	})()`)
	if !isRed(rgb) {
		t.Errorf("pixel at the pion client's tile is %v, want red", rgb)
	}
}

// TestBrowserPrefersH264: Chromium that prefers H.264 (setCodecPreferences,
// via ?codec=h264) receives the canvas in H.264 while a VP8-only pion
// client in the room receives VP8: two encoders for one canvas.
func TestBrowserPrefersH264(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	s := startServer(t, func(c *Config) { c.Canvas = "640x360@15" })
	ctx := browser(t)
	vp8 := joinCodec(t, s, "h264", "video/VP8", red)
	stats := joinPage(t, ctx, s.URL+"/?codec=h264", "h264")
	t.Logf("page reports %+v", stats)
	if stats.VideoCodec != "video/H264" {
		t.Errorf("Chromium receives %q, want video/H264", stats.VideoCodec)
	}
	if got := vp8.VideoCodec(); got != "video/VP8" {
		t.Errorf("pion client receives %q, want video/VP8", got)
	}
	if enc := s.metric(t, "mcu_video_encoders"); enc != 2 {
		t.Errorf("%v canvas encoders, want 2", enc)
	}
	wantRedTile(t, ctx)
}

// TestBrowserJoinsRoom: headless Chromium opens the web page and joins a
// room where a pion client plays a tone and shows red. The page reports
// received audio (inbound-rtp packets, a non-zero level) and video decoded
// at the canvas resolution, and a pixel of the received video at the pion
// client's tile is red; mute and Leave work; the pion client hears
// Chromium's fake microphone.
func TestBrowserJoinsRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	s := startServer(t, func(c *Config) { c.Canvas = "640x360@15" })
	ctx := browser(t)

	tone := joinRedTone(t, ctx, s, "web", "")

	stats := joinPage(t, ctx, s.URL+"/", "web")
	t.Logf("page reports %+v", stats)
	// Chromium offers audio/red: the audio it hears (joinPage waits for
	// its level) comes as RED, the pion client's as plain Opus.
	if n := s.metric(t, "mcu_audio_red_packets_total"); n < 50 {
		t.Errorf("%v RED packets sent once Chromium hears the room, want its audio in RED", n)
	}
	if stats.FrameWidth != 640 || stats.FrameHeight != 360 {
		t.Errorf("page decodes %vx%v, want the 640x360 canvas", stats.FrameWidth, stats.FrameHeight)
	}
	// Two tiles side by side in join order: the pion client is on the left.
	wantRedTile(t, ctx)
	if got := s.metric(t, "mcu_participants"); got != 2 {
		t.Fatalf("participants = %v, want 2", got)
	}

	// Chromium's fake microphone beeps; the pion client must hear something.
	time.Sleep(1500 * time.Millisecond)
	var peak int16
	for _, x := range tone.Received(time.Now().Add(-1500*time.Millisecond), time.Now()) {
		peak = max(peak, x, -x)
	}
	if peak < 300 {
		t.Errorf("pion client hears nothing from Chromium (peak %d)", peak)
	}

	// Camera off: after the 2 s freeze the others see Chromium's tile (the
	// right one) as the placeholder's dark grey. The point sampled lies in
	// the camera's picture (a 16:9 camera in a tall cell has black bars
	// above and below) and away from the placeholder's centred name.
	placeholder := func() (bool, string) {
		pic, _ := tone.LatestVideo()
		if pic == nil {
			return false, "no picture"
		}
		y, u, v := pic.At(pic.Width/2+8, pic.Height*100/360)
		return y >= 25 && y <= 65 && absDiff(u, 128) < 10 && absDiff(v, 128) < 10, fmt.Sprintf("%d,%d,%d", y, u, v)
	}
	if is, yuv := placeholder(); is {
		t.Fatalf("Chromium's tile looks like a placeholder (%s) while its camera is on", yuv)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("camera"))); err != nil {
		t.Fatal(err)
	}
	for off := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		is, yuv := placeholder()
		if is {
			t.Logf("placeholder %v after camera off", time.Since(off))
			break
		}
		if time.Since(off) > 6*time.Second {
			t.Fatalf("Chromium's tile never became a placeholder after camera off (%s)", yuv)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("mute"))); err != nil {
		t.Fatal(err)
	}
	pressed, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("mute"), "aria-pressed"))
	if err != nil {
		t.Fatal(err)
	}
	if pressed.Value != "true" {
		t.Errorf("mute button aria-pressed = %q after click", pressed.Value)
	}
	// Muted, Chromium keeps sending coded silence, the same packet every
	// frame: the room recognises the repeats without decoding them.
	time.Sleep(500 * time.Millisecond)
	silent0 := s.metric(t, "mcu_audio_silent_frames_total")
	time.Sleep(time.Second)
	if n := s.metric(t, "mcu_audio_silent_frames_total") - silent0; n < 40 {
		t.Errorf("%v frames of the muted browser recognised as silence in 1 s, want about 50", n)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("leave"))); err != nil {
		t.Fatal(err)
	}
	s.waitMetric(t, "mcu_participants", 1, 3*time.Second)
}

// TestBrowserJoinsWithToken: with join tokens on, the page opened with
// ?token= joins with it (the server lists the token's identity and name)
// and drops it from the address bar; without a token the page shows the
// server's refusal.
func TestBrowserJoinsWithToken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	s, a := authServer(t, func(c *Config) { c.Canvas = "640x360@15" })
	ctx := browser(t)
	joinRedTone(t, ctx, s, "web", mint(t, a, "web", "tone", auth.DefaultGrants()))
	tok, err := a.Mint(auth.Claims{Identity: "carol", Room: "web", Name: "Carol", Grants: auth.DefaultGrants(), ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	joinPage(t, ctx, s.URL+"/?token="+tok, "web")
	search, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.search`))
	if err != nil || strings.Contains(search, "token") {
		t.Errorf("the address bar still holds the token: %q %v", search, err)
	}
	res, err := dial(t, s).ListParticipants(ctx, &mcuv1.ListParticipantsRequest{RoomId: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range res.GetParticipants() {
		names = append(names, p.GetIdentity()+"/"+p.GetName())
	}
	if len(names) != 2 || names[1] != "carol/Carol" {
		t.Errorf("participants %v, want tone and carol/Carol (the token's name)", names)
	}

	// Another page, without a token, is refused and says why.
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	err = chromedp.Do(tab,
		chromedp.Navigate(s.URL+"/"),
		chromedp.SetValue(chromedp.ID("room"), "web"),
		chromedp.Click(chromedp.ID("join")),
	)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("status")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(status, "no bearer token") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("page status %q, want the 401's reason", status)
		}
	}
}

// TestBrowserRestartsICE: the page restarts ICE by itself (here through
// the hook its network-change and connection-loss handlers call): a new
// offer with new credentials PATCHed to its Location, the server's new
// credentials applied; it stays in the room, receiving and sending,
// without rejoining.
func TestBrowserRestartsICE(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	s := startServer(t, func(c *Config) { c.Canvas = "640x360@15" })
	ctx := browser(t)
	tone := joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "again", Name: "tone", ToneHz: 440})
	before := joinPage(t, ctx, s.URL+"/", "again")
	remoteUfrag := `state.pc.remoteDescription.sdp.match(/a=ice-ufrag:(.*)\r\n/)[1]`
	ufrag, err := chromedp.Run(ctx, chromedp.Evaluate[string](remoteUfrag))
	if err != nil {
		t.Fatal(err)
	}
	// The restart, and whether the page shows its "Reconnecting…" notice
	// while it runs and hides it once through.
	res, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`(async () => {
		const notice = document.getElementById("reconnecting");
		const restart = window.mcuRestartIce("test");
		const during = !notice.hidden;
		return [await restart, during, !notice.hidden];
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || len(res) != 3 || !res[0] {
		status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
		t.Fatalf("the page's ICE restart failed: %v %v (status %q)", res, err, status)
	}
	if !res[1] || res[2] {
		t.Errorf("reconnecting notice shown during the restart %v, after it %v; want shown, then hidden", res[1], res[2])
	}
	restarted, err := chromedp.Run(ctx, chromedp.Evaluate[string](remoteUfrag))
	if err != nil || restarted == ufrag {
		t.Fatalf("the server's ICE ufrag is still %q after the restart (%v)", restarted, err)
	}
	time.Sleep(2 * time.Second)
	after, err := chromedp.Run(ctx, chromedp.Evaluate[pageStats](`window.mcuStats`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before %+v, 2 s after the restart %+v", before, after)
	// The transport runs the new ICE session: its local ufrag is the
	// restart offer's.
	onNew, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		let tr = {};
		(await state.pc.getStats()).forEach((s) => { if (s.type === "transport") tr = s; });
		const ours = state.pc.localDescription.sdp.match(/a=ice-ufrag:(.*)\r\n/)[1];
		return tr.iceState + " " + (tr.iceLocalUsernameFragment === ours);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || onNew != "connected true" {
		t.Errorf("the page's ICE transport after the restart: %q %v, want connected on the new credentials", onNew, err)
	}
	if !after.Connected || after.PacketsReceived-before.PacketsReceived < 50 || after.FramesDecoded <= before.FramesDecoded {
		t.Errorf("the page stopped receiving after its ICE restart: before %+v, after %+v", before, after)
	}
	var peak int16
	for _, x := range tone.Received(time.Now().Add(-time.Second), time.Now()) {
		peak = max(peak, x, -x)
	}
	if peak < 300 {
		t.Errorf("the room no longer hears Chromium after its ICE restart (peak %d)", peak)
	}
	if n := s.metric(t, "mcu_participants"); n != 2 {
		t.Errorf("%v participants after the restart, want the same 2", n)
	}
}
