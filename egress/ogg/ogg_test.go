package ogg

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/egress/internal/opusgap"
	"github.com/mcu-project/mcu/media"
)

// TestGapKeepsItsLength writes 1 s of a tone, nothing for 2 s (the mix's
// DTX silence), then 1 s more: ffmpeg decodes 4 s, the tone at both ends
// and silence between.
func TestGapKeepsItsLength(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	enc, err := opus.NewEncoder(codec.EncoderParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	path := filepath.Join(t.TempDir(), "gap.ogg")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(f, 1)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, media.FrameSamples)
	buf := make([]byte, 1500)
	for ts := time.Duration(0); ts < 4*time.Second; ts += opusgap.Frame {
		if ts >= time.Second && ts < 3*time.Second {
			continue
		}
		codectest.Tone(pcm, 440, 8000, int(ts/opusgap.Frame)*len(pcm))
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Audio(ts+500*time.Millisecond, append([]byte(nil), buf[:n]...)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg: %v %s", err, stderr.String())
	}
	got := float64(out.Len()/2) / 48000
	if got < 3.95 || got > 4.05 {
		t.Fatalf("decoded %.3f s, want 4 s", got)
	}
	samples := make([]int16, out.Len()/2)
	for i := range samples {
		samples[i] = int16(uint16(out.Bytes()[2*i]) | uint16(out.Bytes()[2*i+1])<<8)
	}
	level := func(from time.Duration) float64 {
		i := int(from.Seconds() * 48000)
		return codectest.Goertzel(samples[i:i+4800], 440)
	}
	report := []string{}
	for _, at := range []time.Duration{500 * time.Millisecond, 2 * time.Second, 3500 * time.Millisecond} {
		report = append(report, strconv.FormatFloat(level(at), 'f', 3, 64))
	}
	if level(500*time.Millisecond) < 0.1 || level(2*time.Second) > 0.01 || level(3500*time.Millisecond) < 0.1 {
		t.Fatalf("440 Hz amplitude at 0.5 s, 2 s, 3.5 s: %s; want tone, silence, tone", strings.Join(report, " "))
	}
}
