package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/bench/internal/onset"
	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"go.uber.org/goleak"
)

// TestMain lets the Janus test run this very binary as the command
// (JANUSREF_RUN_MAIN=1), so it checks the real CLI and its JSON; as the
// tests, it fails the package if any goroutine outlives them.
func TestMain(m *testing.M) {
	if os.Getenv("JANUSREF_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestQuickAgainstJanus runs `janusref -quick -json` against a real Janus
// (installed with apt-get if missing, so it needs root), with plain RTP
// participants and with WebRTC ones (-webrtc: pion peers, Janus in a
// network namespace of its own). Opt-in:
// MCU_BENCH_JANUS=1 go test ./bench/janusref/
func TestQuickAgainstJanus(t *testing.T) {
	if os.Getenv("MCU_BENCH_JANUS") != "1" {
		t.Skip("set MCU_BENCH_JANUS=1 to run Janus AudioBridge")
	}
	for _, c := range []struct {
		name, impl string
		args       []string
		latency    bool
	}{
		{"plain RTP", "janus-audiobridge", nil, true},
		{"WebRTC", "janus-audiobridge-webrtc", []string{"-webrtc"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // apt-get may run first
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-quick", "-json"}, c.args...)...)
			cmd.Env = append(os.Environ(), "JANUSREF_RUN_MAIN=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("janusref -quick %v: %v\nstderr:\n%s", c.args, err, stderr.String())
			}
			var r result
			dec := json.NewDecoder(&stdout)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("JSON: %v\nstdout: %s", err, stdout.String())
			}
			t.Logf("%+v", r)
			if r.Impl != c.impl || r.Participants != 2 || r.Talkers != 2 {
				t.Errorf("impl/participants/talkers = %q/%d/%d", r.Impl, r.Participants, r.Talkers)
			}
			if math.Abs(r.DurationS-3) > 0.5 {
				t.Errorf("duration %.3f s, want 3", r.DurationS)
			}
			if r.OutPPSMin < 45 || r.OutPPSMax > 55 {
				t.Errorf("mixed packets/s %.1f-%.1f, want about 50", r.OutPPSMin, r.OutPPSMax)
			}
			if r.CPUSeconds <= 0 || r.CPUSeconds > 2*r.DurationS {
				t.Errorf("janus CPU %.2f s over %.1f s", r.CPUSeconds, r.DurationS)
			}
			if c.latency && (r.LatencyP50 <= 0 || r.LatencyP50 > 1000 || r.LatencyOnsets == 0) {
				t.Errorf("latency %.1f ms over %d onsets", r.LatencyP50, r.LatencyOnsets)
			}
			if r.JanusVersion == "" {
				t.Error("no Janus version")
			}
		})
	}
}

// The rest needs no Janus.

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"-quick"})
	if err != nil {
		t.Fatal(err)
	}
	if o.n != 2 || o.talkers != 2 || o.d != 3*time.Second || o.prebuffer != -1 || o.amp != 8192 {
		t.Errorf("-quick: %+v", o)
	}
	o, err = parseFlags([]string{"-n", "16", "-talkers", "16", "-d", "30s", "-json", "-prebuffer", "1"})
	if err != nil {
		t.Fatal(err)
	}
	if o.n != 16 || o.talkers != 16 || !o.jsonOut || o.prebuffer != 1 || o.amp != 2000 {
		t.Errorf("flags: %+v", o)
	}
	for _, bad := range [][]string{{"-prebuffer", "0"}, {"-prebuffer", "51"}, {"-quality", "11"}, {"-n", "0"}, {"-bitrate", "100"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestConfigIsLoopbackAndMinimal(t *testing.T) {
	lib := t.TempDir()
	for _, f := range []string{"plugins/libjanus_audiobridge.so", "transports/libjanus_http.so"} {
		if err := os.MkdirAll(filepath.Join(lib, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(lib, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := writeConfig(dir, lib, janusConfig{DebugLevel: 3, HTTPPort: 12345, RTPPortRange: "20000-29999"}); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	core, http, ab := read("janus.jcfg"), read("janus.transport.http.jcfg"), read("janus.plugin.audiobridge.jcfg")
	for _, want := range []string{`plugins_folder = "` + dir + `/plugins"`, `interface = "127.0.0.1"`, `rtp_port_range = "20000-29999"`, "broadcast = false"} {
		if !strings.Contains(core, want) {
			t.Errorf("janus.jcfg lacks %s", want)
		}
	}
	for _, want := range []string{"port = 12345", `ip = "127.0.0.1"`, "admin_http = false", "https = false"} {
		if !strings.Contains(http, want) {
			t.Errorf("http config lacks %s", want)
		}
	}
	if !strings.Contains(ab, `local_ip = "127.0.0.1"`) {
		t.Error("audiobridge config lacks local_ip")
	}
	for _, c := range []string{core, http, ab} {
		for _, line := range strings.Split(c, "\n") {
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "stun_server") || strings.HasPrefix(l, "turn_") {
				t.Errorf("config sets %s", l)
			}
		}
	}
	for sub, want := range map[string]string{"plugins": "libjanus_audiobridge.so", "transports": "libjanus_http.so", "events": "", "loggers": ""} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if strings.Join(names, ",") != want {
			t.Errorf("%s/ holds %v, want %q", sub, names, want)
		}
	}
}

func TestDetectorIgnoresNeighbourTones(t *testing.T) {
	// The mix participant 1 hears at 16 talkers: the latency tone plus 14
	// steady tones below it.
	const amp = 2000
	hz := toggleHz(16)
	pcm := make([]int16, frameLen)
	mix := func(withToggle bool) []int16 {
		out := make([]int16, frameLen)
		for i := 2; i < 16; i++ {
			opusloop.Sine(pcm, opusloop.ToneHz(i), amp, 7)
			for j := range out {
				out[j] += pcm[j]
			}
		}
		if withToggle {
			opusloop.Sine(pcm, hz, amp, 7)
			for j := range out {
				out[j] += pcm[j]
			}
		}
		return out
	}
	if off := onset.Level(mix(false), hz); off > 0.02*amp {
		t.Errorf("tone off reads %.0f", off)
	}
	if on := onset.Level(mix(true), hz); math.Abs(on-amp) > 0.05*amp {
		t.Errorf("tone on reads %.0f, want %d", on, amp)
	}
}

func TestLoopsAreRealOpus(t *testing.T) {
	s, err := opusloop.Silence()
	if err != nil {
		t.Fatal(err)
	}
	tl, err := toggleLoop(1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != opusloop.LoopFrames || len(tl) != toggleCycleFrames {
		t.Fatalf("loop lengths %d, %d", len(s), len(tl))
	}
	for _, p := range append(s, tl...) {
		if len(p) == 0 {
			t.Fatal("empty packet")
		}
	}
}

// A mix is accepted only if it carries every other talker's voice: one
// without talker 2 (or with it far too quiet) is Janus not doing the work
// it is timed for.
func TestHearsEveryTalker(t *testing.T) {
	const talkers, amp = 4, 4000.0
	levels := make([]float64, talkers)
	voices := make([][]int16, talkers)
	for j := range talkers {
		levels[j] = opusloop.VoiceToneLevel(opusloop.ToneHz(j), amp)
		voices[j] = opusloop.VoicePCM(opusloop.ToneHz(j), amp)
	}
	mix := func(skip int, quiet float64) []int16 {
		pcm := make([]int16, opusloop.LoopFrames*opusloop.FrameLen) // a loop, as the check takes
		for j := range talkers {
			if j == 0 || j == skip {
				continue // 0 is the listener itself
			}
			a := 1.0
			if j == 3 {
				a = quiet
			}
			for k := range pcm {
				pcm[k] += int16(a * float64(voices[j][k]))
			}
		}
		return pcm
	}
	if err := hearsEveryTalker(mix(-1, 1), 0, levels); err != nil {
		t.Errorf("a full mix: %v", err)
	}
	if err := hearsEveryTalker(mix(2, 1), 0, levels); err == nil || !strings.Contains(err.Error(), "talker 2") {
		t.Errorf("a mix without talker 2: %v, want it named", err)
	}
	if err := hearsEveryTalker(mix(-1, 0.1), 0, levels); err == nil || !strings.Contains(err.Error(), "talker 3") {
		t.Errorf("a mix with talker 3 at a tenth: %v, want it named", err)
	}
}
