package webm

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestIndexAndDuration writes 6 s with canvas keyframes at 0 and 3 s (a
// cluster starts every second regardless): the index Close writes has
// cue points at the keyframes only, and the duration is set.
func TestIndexAndDuration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.webm")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(f, Tracks{Width: 64, Height: 48, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Every second boundary is crossed by a canvas frame (audio at
	// 5 ms past the 20 ms grid), so the library starts its clusters, and
	// puts its cue points, at canvas frames that are mostly no keyframes.
	ms := time.Millisecond
	for ts := time.Duration(0); ts < 6*time.Second; ts += 5 * ms {
		if ts%(50*ms) == 0 {
			if err := w.Video(ts, ts%(3*time.Second) == 0, make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
		}
		if ts%(20*ms) == 5*ms {
			if err := w.Audio(ts, make([]byte, 40)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var file struct {
		Segment struct {
			Info webm.Info  `ebml:"Info"`
			Cues cuesBody   `ebml:"Cues"`
			_    []struct{} `ebml:"Cluster"`
		} `ebml:"Segment"`
	}
	if err := ebml.Unmarshal(r, &file, ebml.WithIgnoreUnknown(true)); err != nil {
		t.Fatal(err)
	}
	if d := file.Segment.Info.Duration; d < 5900 || d > 6000 {
		t.Errorf("duration %v ms, want about 5980", d)
	}
	var video []uint64
	for _, cp := range file.Segment.Cues.CuePoint {
		if cp.CueTrackPositions[0].CueTrack == videoTrack {
			video = append(video, cp.CueTime)
		}
	}
	if len(video) != 2 || video[0] != 0 || video[1] != 3000 {
		t.Errorf("canvas cue points at %v ms, want [0 3000]", video)
	}
}
