package mp4

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
	"github.com/mcu-project/mcu/codec/h264"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/media"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeTestFile writes 4 s of a green 15 fps canvas (keyframes every 2
// s, none from 1.2 to 2.6 s) and a 440 Hz mix with a 0.6 s silent gap, as
// the room hands them;
// kill, if set, returns before Close: the file as a killed process
// leaves it.
func writeTestFile(t *testing.T, kill bool) string {
	t.Helper()
	venc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: 160, Height: 96, FPS: 15})
	if err != nil {
		t.Fatal(err)
	}
	defer venc.Close()
	aenc, err := opus.NewEncoder(codec.EncoderParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer aenc.Close()
	path := filepath.Join(t.TempDir(), "t.mp4")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(f, Tracks{Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	pic, _ := media.NewVideoFrame(160, 96)
	pic.Fill(145, 54, 34)
	pcm := make([]int16, media.FrameSamples)
	pkt := make([]byte, 1500)
	const start = 300 * time.Millisecond // the recorder's zero is a little before
	ms := time.Millisecond
	for ts := time.Duration(0); ts < 4*time.Second; ts += 20 * ms {
		frozen := ts > 1200*ms && ts < 2600*ms // a frozen canvas: no pictures
		if ts%(200*ms/3) < 20*ms && !frozen {  // 15 fps, a little after the audio
			if ts%(2*time.Second) < 20*ms {
				venc.ForceKeyFrame()
			}
			out, key, err := venc.Encode(pic, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > 0 {
				if err := w.Video(start+ts+5*ms, key, append([]byte(nil), out...)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if ts >= 2800*ms && ts < 3400*ms {
			continue // DTX: silence sent as nothing
		}
		codectest.Tone(pcm, 440, 8000, int(ts/(20*ms))*len(pcm))
		n, err := aenc.Encode(pcm, pkt)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Audio(start+ts, append([]byte(nil), pkt[:n]...)); err != nil {
			t.Fatal(err)
		}
	}
	if kill {
		_ = f.Close() // no last fragment, no index
		return path
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func ffprobe(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", append(append([]string{"-v", "error"}, args...), path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestFragmentedFile(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	path := writeTestFile(t, false)
	streams := ffprobe(t, path, "-show_entries", "stream=codec_name", "-of", "csv=p=0")
	d, err := strconv.ParseFloat(ffprobe(t, path, "-show_entries", "format=duration", "-of", "csv=p=0"), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("streams %q, duration %.3f s", streams, d)
	if streams != "h264\nopus" || d < 3.9 || d > 4.1 {
		t.Fatalf("streams %q, duration %.3f s; want h264 and opus, 4 s", streams, d)
	}
	durs := strings.Fields(ffprobe(t, path, "-select_streams", "v", "-show_entries", "packet=duration", "-of", "csv=p=0"))
	for i, d := range durs {
		if v, _ := strconv.Atoi(d); v < 6000 || v > 6000*22 { // a frame, or the frozen time
			t.Fatalf("picture %d of %d lasts %s/90000 s, want a frame (6000) or the frozen 1.4 s", i, len(durs), d)
		}
	}
	if got := decodedAudio(t, path); got < 3.9 || got > 4.1 {
		t.Errorf("%.3f s of audio decoded, want 4 s (the gap kept)", got)
	}
}

// decodedAudio is how long the file's audio decodes to; a decode error
// fails the test.
func decodedAudio(t *testing.T, path string) float64 {
	t.Helper()
	var out, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:a", "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg: %v %s", err, stderr.String())
	}
	return float64(out.Len()/2) / 48000
}

// TestKilled: without Close (the process was killed), the file plays up
// to its last fragment, within a second of the end.
func TestKilled(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	if got := decodedAudio(t, writeTestFile(t, true)); got < 3 {
		t.Errorf("%.3f s of audio decoded from a killed file, want at least 3 of its 4 s", got)
	}
}
