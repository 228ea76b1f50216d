package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/internal/testkit/netshape"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// withoutUPnP returns a directory with a stand-in for libgupnp-igd, the
// UPnP port-mapping library libnice links. Debian 12's simple-whip-client
// cannot run with the real one: it links libsoup 2, and libgupnp-igd
// brings libsoup 3 into the process, which aborts ("libsoup2 symbols
// detected"). Without it libnice maps no ports, which a test does not
// want anyway.
func withoutUPnP(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "stub.c")
	code := "void *gupnp_simple_igd_thread_new(void) { return 0; }\n" +
		"unsigned long gupnp_simple_igd_get_type(void) { return 0; }\n" +
		"void gupnp_simple_igd_add_port(void) {}\n" +
		"void gupnp_simple_igd_remove_port_local(void) {}\n"
	if err := os.WriteFile(src, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("gcc", "-shared", "-fPIC", "-Wl,-soname,libgupnp-igd-1.0.so.4", "-o", filepath.Join(dir, "libgupnp-igd-1.0.so.4"), src).CombinedOutput()
	if err != nil {
		t.Fatalf("building the libgupnp-igd stand-in: %v: %s", err, out)
	}
	return dir
}

// TestSimpleWHIPClient: Debian's simple-whip-client (GStreamer's webrtcbin)
// publishes a 600 Hz tone and a red test picture into a room with a join
// token, trickling its candidates with PATCH; a pion participant of the
// join API hears the tone and sees the red tile beside its own green one,
// the room lists the publisher as "whip", and on SIGINT the client's
// DELETE removes it. The client runs in a network namespace of the test's
// (libnice gathers candidates on every interface it sees), reaching the
// server over a veth pair.
func TestSimpleWHIPClient(t *testing.T) {
	whipClient, err := exec.LookPath("whip-client")
	if err != nil {
		t.Skip("Debian's simple-whip-client is not installed (make deps-test installs it): ", err)
	}
	link := netshape.NewForTest(t)
	s, a := authServer(t, func(c *Config) {
		c.HTTP = link.HostIP + ":0"
		c.Interfaces = []string{"lo", link.HostIf}
		c.Canvas = "320x180@15"
		c.ICEServers = nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const amp, toneHz = 8192, 600
	member := joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "gst", Name: "green", Token: mint(t, a, "gst", "green", auth.DefaultGrants()),
		ToneHz: 400, RecvVideo: true, Video: &pionclient.VideoOptions{Y: green.y, U: green.u, V: green.v}})

	// out is read once the client has exited.
	var out bytes.Buffer
	cmd := link.Command(ctx, whipClient, "-u", s.URL+"/whip/gst", "-t", mint(t, a, "gst", "gstreamer", auth.Grants{Publish: true}), "-l", "5",
		"-A", "audiotestsrc is-live=true wave=sine freq=600 volume=0.25 ! audioconvert ! audioresample ! queue ! opusenc ! rtpopuspay pt=111 ssrc=1 ! queue ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111",
		"-V", "videotestsrc is-live=true pattern=solid-color foreground-color=0xffff0000 ! video/x-raw,width=320,height=240,framerate=15/1 ! videoconvert ! queue ! vp8enc deadline=1 target-bitrate=300000 ! rtpvp8pay pt=96 ssrc=2 ! queue ! application/x-rtp,media=video,encoding-name=VP8,payload=96")
	// GStreamer's plugin registry goes to the test's directory, not $HOME.
	cmd.Env = append(os.Environ(), "GST_REGISTRY="+filepath.Join(t.TempDir(), "registry.bin"), "LD_LIBRARY_PATH="+withoutUPnP(t))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("whip-client's output:\n%s", out.String())
		}
	}()

	if err := waitHearing(ctx, member, toneHz, amp); err != nil {
		t.Fatalf("the room does not hear simple-whip-client: %v", err)
	}
	waitCanvas(t, []*pionclient.Client{member}, func(int) []*colour { return cols(green, red) }, 20*time.Second)
	if got := listed(t, s, "gst", func(p *mcuv1.Participant) string {
		return fmt.Sprintf("%s/%s/listener=%v", p.GetIdentity(), p.GetKind(), p.GetListener())
	}); got != "green/webrtc/listener=false gstreamer/whip/listener=false" {
		t.Errorf("listed %s, want the member and a whip publisher", got)
	}

	// On SIGINT the client DELETEs its session (it warns unless 200).
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		stopped = true
	case <-time.After(10 * time.Second):
		t.Fatal("whip-client did not stop on SIGINT")
	}
	s.waitMetric(t, "mcu_participants", 1, 3*time.Second)
	// It resolved the relative Location against the endpoint, and warns
	// of a PATCH not answered 200 or 204 and of a DELETE not answered 200.
	o := out.String()
	if !strings.Contains(o, "Resource URL: "+s.URL+"/whip/gst/") || strings.Contains(o, "[trickle]") {
		t.Errorf("whip-client did not take the session URL, or a trickle failed:\n%s", o)
	}
	if !strings.Contains(o, "Disconnecting from server") || strings.Contains(o, " [4") {
		t.Errorf("whip-client's DELETE was not answered 200:\n%s", o)
	}
	t.Logf("whip-client trickled %d candidates", strings.Count(o, "Sending candidates: candidate"))
}
