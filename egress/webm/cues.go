package webm

import (
	"bytes"
	"sync"

	"github.com/at-wat/ebml-go"
)

// keyCues keeps the index to clusters a player can start decoding at.
//
// The library puts a cue point at every cluster it starts; a cluster
// starts at every canvas keyframe but also once a second (so that a
// killed process loses little), mostly at frames that depend on earlier
// ones. A player seeking to such a cue decodes garbage (ffmpeg:
// "Discarding interframe without a prior keyframe"), so when the library
// writes its index into the reserved space, the canvas's cue points that
// are not at a keyframe are taken out (the space left is a Void element).
// The library offers no hook for this: it is done on the way to the file.
type keyCues struct {
	File
	reserved int // the size of the index's space, which identifies its write

	mu   sync.Mutex
	keys map[int64]bool // the canvas keyframes' timestamps (ms)
	// firstKey is the first keyframe's timestamp: the library's first
	// canvas cue point is there (the canvas starts at a keyframe), which
	// gives the offset of its cue times from ours.
	firstKey int64
	haveKey  bool
}

func (k *keyCues) keyframe(ms int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.haveKey {
		k.firstKey, k.haveKey = ms, true
	}
	k.keys[ms] = true
}

type cueTrackPosition struct {
	CueTrack           uint64 `ebml:"CueTrack"`
	CueClusterPosition uint64 `ebml:"CueClusterPosition"`
}

type cuePoint struct {
	CueTime           uint64             `ebml:"CueTime"`
	CueTrackPositions []cueTrackPosition `ebml:"CueTrackPositions"`
}

type cuesBody struct {
	CuePoint []cuePoint `ebml:"CuePoint"`
}

type cuesElement struct {
	Cues cuesBody `ebml:"Cues"`
}

func (k *keyCues) WriteAt(p []byte, off int64) (int, error) {
	if len(p) != k.reserved {
		return k.File.WriteAt(p, off)
	}
	if q, ok := k.filter(p); ok {
		p = q
	}
	return k.File.WriteAt(p, off)
}

// filter returns the index p without the canvas cue points that are not
// at keyframes, padded to p's size; false if p is not an index it can
// read (then it is written as it is).
func (k *keyCues) filter(p []byte) ([]byte, bool) {
	var c cuesElement
	if err := ebml.Unmarshal(bytes.NewReader(p), &c, ebml.WithIgnoreUnknown(true)); err != nil || len(c.Cues.CuePoint) == 0 {
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	offset := int64(-1)
	kept := c.Cues.CuePoint[:0]
	for _, cp := range c.Cues.CuePoint {
		if len(cp.CueTrackPositions) == 0 || cp.CueTrackPositions[0].CueTrack != videoTrack {
			kept = append(kept, cp)
			continue
		}
		if offset < 0 && k.haveKey {
			offset = k.firstKey - int64(cp.CueTime)
		}
		if offset >= 0 && k.keys[int64(cp.CueTime)+offset] {
			kept = append(kept, cp)
		}
	}
	c.Cues.CuePoint = kept
	var buf bytes.Buffer
	if err := ebml.Marshal(&c, &buf); err != nil {
		return nil, false
	}
	rest := len(p) - buf.Len()
	if rest != 0 && rest < 9 {
		return nil, false // no room for the Void element: keep the library's
	}
	if rest > 0 {
		buf.Write(voidElement(rest))
	}
	return buf.Bytes(), true
}

// voidElement is an EBML Void element of exactly size bytes (at least
// 9): its ID and an 8-byte size, then zeros.
func voidElement(size int) []byte {
	b := make([]byte, size)
	b[0] = 0xEC
	b[1] = 0x01
	n := uint64(size - 9)
	for i := range 7 {
		b[8-i] = byte(n >> (8 * i))
	}
	return b
}
