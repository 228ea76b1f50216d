package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: the
// GStreamer run (TestQuickRun) prepares its inputs in parallel and waits
// for gst-launch in a goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The pipeline description puts every camera where the MCU's grid does and
// runs one encoder (shared) or one per participant (personal). No GStreamer
// needed.
func TestBuildPipeline(t *testing.T) {
	s := pipelineSpec{Inputs: []string{"/t/in0.ivf", "/t/in1.ivf", "/t/in2.ivf", "/t/in3.ivf"},
		InW: 640, InH: 360, CanvasW: 1280, CanvasH: 720, FPS: 30, BitrateBps: 1500000, FPSIntervalMs: 250, CompositorThrs: 1}
	for mode, encoders := range map[string]int{"shared": 1, "personal": 4} {
		s.Mode = mode
		p, sinks, err := buildPipeline(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(p, "vp8enc "); got != encoders || len(sinks) != encoders {
			t.Errorf("%s: %d vp8enc, %d sinks, want %d", mode, got, len(sinks), encoders)
		}
		if got := strings.Count(p, "vp8dec "); got != 4 {
			t.Errorf("%s: %d decoders, want 4", mode, got)
		}
		for _, want := range []string{"sink_3::xpos=640 sink_3::ypos=360 sink_3::width=640 sink_3::height=360",
			"target-bitrate=1500000", "cpu-used=-8", "deadline=1", "end-usage=cbr", "threads=1", "keyframe-max-dist=300"} {
			if !strings.Contains(p, want) {
				t.Errorf("%s: pipeline lacks %q:\n%s", mode, want, p)
			}
		}
	}
	s.Mode = "other"
	if _, _, err := buildPipeline(s); err == nil {
		t.Error("unknown mode accepted")
	}
}

func TestIVFWriter(t *testing.T) {
	var b bytes.Buffer
	w, err := newIVFWriter(&b, 640, 360, 30)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame([]byte{1, 2, 3}, 7); err != nil {
		t.Fatal(err)
	}
	d := b.Bytes()
	if len(d) != 32+12+3 || string(d[:4]) != "DKIF" || string(d[8:12]) != "VP80" ||
		binary.LittleEndian.Uint16(d[12:]) != 640 || binary.LittleEndian.Uint32(d[16:]) != 30 ||
		binary.LittleEndian.Uint32(d[32:]) != 3 || binary.LittleEndian.Uint64(d[36:]) != 7 {
		t.Errorf("bad IVF bytes % x", d)
	}
}

// TestQuickRun runs the real thing (gst-launch-1.0, installed with apt-get
// when missing and root) in -quick mode, so only with MCU_BENCH_GST=1.
func TestQuickRun(t *testing.T) {
	if os.Getenv("MCU_BENCH_GST") != "1" {
		t.Skip("set MCU_BENCH_GST=1 to run GStreamer")
	}
	for _, mode := range []string{"shared", "personal"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var out, errOut bytes.Buffer
			if err := run(ctx, []string{"-quick", "-json", "-v", "-mode", mode}, &out, &errOut); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			t.Logf("%s", out.String())
			var r Result
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("%v: %q", err, out.String())
			}
			wantEnc := map[string]int{"shared": 1, "personal": 4}[mode]
			switch {
			case r.Impl != "gstreamer" || r.Mode != mode || r.Participants != 4 || r.Encoders != wantEnc:
				t.Errorf("wrong identity: %+v", r)
			case r.In != "320x180" || r.Canvas != "640x360" || r.FPS != 30:
				t.Errorf("wrong sizes: %+v", r)
			case r.DurationS < 2.9 || r.DurationS > 4:
				t.Errorf("duration %.2f s, want about 3", r.DurationS)
			case r.CPUSeconds <= 0 || r.CPUPerMediaSecond <= 0:
				t.Errorf("no CPU measured: %+v", r)
			case r.OutFPS < 15 || r.OutFPS > 31:
				// Not "realtime": a busy test machine may slow it down,
				// but it must have produced output at a sane pace.
				t.Errorf("out_fps %.2f, want about 30", r.OutFPS)
			}
		})
	}
}
