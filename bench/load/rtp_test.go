package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/bench/internal/proc"
	"go.uber.org/goleak"
)

// testMCU is a started mcu: its base URL, its admin URL (metrics) and the
// process.
type testMCU struct {
	url, admin string
	cmd        *exec.Cmd
}

// options are load options against the mcu.
func (m testMCU) options() Options {
	return Options{URL: m.url, MetricsURL: m.admin, PID: m.cmd.Process.Pid}
}

// startMCU builds ./cmd/mcu and runs it on free loopback ports (no gRPC),
// with extra flags; it is stopped at cleanup.
func startMCU(t *testing.T, extra ...string) testMCU {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the mcu")
	}
	bin := filepath.Join(t.TempDir(), "mcu")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/mcu-project/mcu/cmd/mcu").CombinedOutput(); err != nil {
		t.Fatalf("build mcu: %v\n%s", err, out)
	}
	var ports [2]int
	for i := range ports {
		if ports[i], err = proc.FreeTCPPort(); err != nil {
			t.Fatal(err)
		}
	}
	addr, admin := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	var stderr bytes.Buffer
	cmd := exec.Command(bin, append(proc.MCUArgs(addr, admin), extra...)...)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if stderr.Len() > 0 {
			t.Logf("mcu stderr:\n%s", stderr.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mcu did not start:\n%s", stderr.String())
		}
	}
	return testMCU{url: "http://" + addr, admin: "http://" + admin, cmd: cmd}
}

// metric reads one unlabelled value from the mcu's /metrics.
func metric(t *testing.T, base, name string) string {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return ""
}

// TestRunRTP: two rooms that do not exist beforehand, of three plain-RTP
// legs each (one talking; Opus and PCMU legs in turn), are made, every leg
// gets its mix at 50 packets/s in its own codec, the mcu's CPU, memory and
// tick lateness are measured, and nothing is left behind: no participant or
// room at the mcu, no goroutine here.
func TestRunRTP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mcu in real time")
	}
	mcu := startMCU(t, "-rtp-allow", "127.0.0.0/8") // the legs listen on loopback
	url := mcu.admin                                // metrics
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var during [2]string
	o := mcu.options()
	o.Room, o.N, o.Talkers, o.D, o.Rooms, o.AudioCodecs = "bench", 3, 1, 2*time.Second, 2, []string{"opus", "PCMU"}
	o.Measuring = func() { during = [2]string{metric(t, url, "mcu_rooms"), metric(t, url, "mcu_participants")} }
	r, err := RunRTP(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.N != 3 || r.Talkers != 1 || r.Rooms != 2 {
		t.Errorf("N, talkers, rooms = %d, %d, %d", r.N, r.Talkers, r.Rooms)
	}
	if during != [2]string{"2", "6"} {
		t.Errorf("while measuring, the mcu had %s rooms and %s participants, want 2 and 6", during[0], during[1])
	}
	if r.AudioLossMax > 0.01 {
		t.Errorf("a leg lost %.1f %% of the mcu's packets on loopback", 100*r.AudioLossMax)
	}
	if r.AudioRated != 4 {
		t.Errorf("%d legs rated, want the 4 that hear the talker", r.AudioRated)
	}
	if r.Ticks < 150 || r.TickLateP99Ms <= 0 || r.TickLateP99Ms > 20 || r.RSSBytes < 1<<20 || r.RSSPeakBytes < r.RSSBytes {
		t.Errorf("ticks %.0f, lateness p99 %.2f ms, RSS %d (peak %d)", r.Ticks, r.TickLateP99Ms, r.RSSBytes, r.RSSPeakBytes)
	}
	if r.Duration < 2*time.Second || r.Duration > 3*time.Second {
		t.Errorf("duration %v", r.Duration)
	}
	if r.AudioPPSMin < 45 || r.AudioPPSMax > 55 {
		t.Errorf("received packets/s per participant %.1f-%.1f, want about 50", r.AudioPPSMin, r.AudioPPSMax)
	}
	if r.CPUSeconds <= 0 {
		t.Errorf("mcu CPU %.2f s", r.CPUSeconds)
	}
	// The mcu decoded what the legs sent.
	t.Logf("mcu: decode errors %s, concealed frames %s, encodes %s", metric(t, url, "mcu_audio_decode_errors_total"),
		metric(t, url, "mcu_audio_concealed_frames_total"), metric(t, url, "mcu_audio_encodes_total"))
	if e := metric(t, url, "mcu_audio_decode_errors_total"); e != "0" {
		t.Errorf("%s packets failed to decode at the mcu", e)
	}
	// The legs left with DELETE: the room emptied and went away.
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p, rooms := metric(t, url, "mcu_participants"), metric(t, url, "mcu_rooms")
		if p == "0" && rooms == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the run: %s participants in %s rooms", p, rooms)
		}
	}
}

func TestRunRTPRefuses(t *testing.T) {
	for _, o := range []Options{
		{N: 2, Latency: true},
		{N: 2, Video: "640x360"},
		{N: 0},
		{N: 2, AudioCodecs: []string{"G722"}},
	} {
		if _, err := RunRTP(context.Background(), o); err == nil {
			t.Errorf("%s accepted", fmt.Sprintf("%+v", o))
		}
	}
}
