package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"google.golang.org/grpc/codes"
)

// rtmpModule is Debian's nginx RTMP module (libnginx-mod-rtmp).
const rtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// nginxRTMP is a real RTMP server on loopback: Debian's nginx with its
// RTMP module, which the test can stop and start again on its port.
type nginxRTMP struct {
	dir, port string
	cmd       *exec.Cmd
}

func newNginxRTMP(t *testing.T) *nginxRTMP {
	t.Helper()
	n := maybeNginxRTMP(t)
	if n == nil {
		t.Skip("nginx or libnginx-mod-rtmp not installed (make deps-test)")
	}
	return n
}

// maybeNginxRTMP is newNginxRTMP, or nil when nginx or its RTMP module is
// not installed.
func maybeNginxRTMP(t *testing.T) *nginxRTMP {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		return nil
	}
	if _, err := os.Stat(rtmpModule); err != nil {
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	n := &nginxRTMP{dir: t.TempDir(), port: port}
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
load_module %[2]s;
events { worker_connections 64; }
rtmp {
	server {
		listen 127.0.0.1:%[3]s;
		application live { live on; record off; }
	}
}
`, n.dir, rtmpModule, port)
	if err := os.WriteFile(filepath.Join(n.dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.start(t)
	t.Cleanup(n.stop)
	return n
}

func (n *nginxRTMP) url(key string) string { return "rtmp://127.0.0.1:" + n.port + "/live/" + key }

// start runs nginx and waits until it listens.
func (n *nginxRTMP) start(t *testing.T) {
	t.Helper()
	n.cmd = exec.Command("nginx", "-p", n.dir, "-c", filepath.Join(n.dir, "nginx.conf"), "-e", filepath.Join(n.dir, "error.log"))
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+n.port); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
			t.Fatalf("nginx does not listen on %s:\n%s", n.port, log)
		}
	}
}

// stop kills nginx (the server goes away) and waits for it.
func (n *nginxRTMP) stop() {
	if n.cmd != nil {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
		n.cmd = nil
	}
}

// probeLive reads the live stream at url with ffprobe: its codecs, and
// the times of its keyframes in its first 5 s.
func probeLive(t *testing.T, url string) (codecs []string, keys []float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-read_intervals", "%+5", "-show_entries", "stream=codec_name:packet=codec_type,pts_time,flags",
		"-of", "csv=p=0", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", url, err, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, ",")
		switch {
		case len(f) == 1:
			codecs = append(codecs, f[0])
		case len(f) == 3 && f[0] == "video" && strings.HasPrefix(f[2], "K"):
			keys = append(keys, probeFloat(t, f[1]))
		}
	}
	slices.Sort(codecs)
	return codecs, keys
}

// waitStream polls ListEgress until the stream id is connected (or not)
// and returns it.
func waitStream(t *testing.T, api mcuv1.MCUClient, id string, connected bool, within time.Duration) *mcuv1.Egress {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		list, err := api.ListEgress(context.Background(), &mcuv1.ListEgressRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list.GetEgress() {
			if e.GetId() == id && e.GetConnected() == connected {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not connected=%v within %v: %v", id, connected, within, list)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStreamRTMP streams a two-person VP8 room to two outputs of a real
// RTMP server (nginx) at once: ffprobe reads H.264 + AAC from each, with
// a keyframe every 2 s. The server is killed mid-stream: the streams say
// so (egress_updated, and in listings), the room goes on, and once the
// server is back they reconnect by themselves (egress_updated again).
func TestStreamRTMP(t *testing.T) {
	if testing.Short() {
		t.Skip("streams to nginx")
	}
	needFFmpeg(t)
	srv := newNginxRTMP(t)
	s := recordServer(t, "")
	clients := joinRecorded(t, s, "live")
	api := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	events, err := api.StreamEvents(ctx, &mcuv1.StreamEventsRequest{RoomId: "live"})
	if err != nil {
		t.Fatal(err)
	}
	updates := make(chan *mcuv1.Egress, 100)
	go func() {
		for {
			ev, err := events.Recv()
			if err != nil {
				close(updates)
				return
			}
			if ev.GetType() == mcuv1.EventType_EVENT_TYPE_EGRESS_UPDATED {
				select {
				case updates <- ev.GetEgress():
				case <-ctx.Done():
				}
			}
		}
	}()
	// sawUpdate waits for an egress_updated event of a stream that says
	// it is connected (or not).
	sawUpdate := func(connected bool) {
		t.Helper()
		for e := range updates {
			if e.GetConnected() == connected && (connected || e.GetRetries() > 0 && e.GetError() != "") {
				return
			}
		}
		t.Fatalf("no egress_updated with connected=%v", connected)
	}
	if _, err := api.StartEgress(context.Background(), &mcuv1.StartEgressRequest{RoomId: "live", Output: &mcuv1.StartEgressRequest_Stream{Stream: &mcuv1.StreamOutput{Url: "http://example.com/x"}}}); code(err) != codes.InvalidArgument {
		t.Errorf("a stream to an http URL: %v, want InvalidArgument", err)
	}
	var ids []string
	for _, key := range []string{"one", "two"} {
		eg, err := api.StartEgress(context.Background(), &mcuv1.StartEgressRequest{RoomId: "live", Output: &mcuv1.StartEgressRequest_Stream{Stream: &mcuv1.StreamOutput{Url: srv.url(key)}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := eg.GetStream().GetUrl(); strings.Contains(got, key) {
			t.Errorf("the stream key shows in %s", got)
		}
		ids = append(ids, eg.GetId())
	}
	for i, key := range []string{"one", "two"} {
		waitStream(t, api, ids[i], true, 10*time.Second)
		codecs, keys := probeLive(t, srv.url(key))
		t.Logf("%s: %v, keyframes at %v", key, codecs, keys)
		if strings.Join(codecs, ",") != "aac,h264" {
			t.Fatalf("the live stream has %v, want h264 and aac", codecs)
		}
		for j := 1; j < len(keys); j++ {
			if gap := keys[j] - keys[j-1]; gap > 2.5 {
				t.Errorf("keyframes %.2f s apart, want every 2 s", gap)
			}
		}
	}

	srv.stop()
	sawUpdate(false)
	for _, id := range ids {
		e := waitStream(t, api, id, false, 10*time.Second)
		t.Logf("server gone: %s %v retries %d: %s", id, e.GetStatus(), e.GetRetries(), e.GetError())
	}
	// The room does not wait for its streams.
	waitCanvas(t, clients, func(int) []*colour { return cols(red, blue) }, 5*time.Second)
	requireMixMinus(t, clients, recordTones, recordAmp, time.Now().Add(-1500*time.Millisecond), time.Now().Add(-500*time.Millisecond))

	srv.start(t)
	sawUpdate(true)
	for i, key := range []string{"one", "two"} {
		e := waitStream(t, api, ids[i], true, 40*time.Second)
		codecs, _ := probeLive(t, srv.url(key))
		t.Logf("reconnected after %d retries: %v", e.GetRetries(), codecs)
		if strings.Join(codecs, ",") != "aac,h264" || e.GetRetries() == 0 {
			t.Fatalf("after the server came back: %v, %d retries", codecs, e.GetRetries())
		}
	}
	for _, id := range ids {
		e, err := api.StopEgress(context.Background(), &mcuv1.StopEgressRequest{EgressId: id})
		if err != nil || e.GetStatus() != mcuv1.EgressStatus_EGRESS_STATUS_ENDED || e.GetBytes() == 0 || e.GetError() != "" {
			t.Fatalf("StopEgress: %v, %v", e, err)
		}
	}
}
