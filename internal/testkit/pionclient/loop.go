package pionclient

import (
	"fmt"
	"sync"
)

// cameraLoop is a camera's frames encoded once (VideoOptions.Loop) and
// replayed by every client with the same options. Its frames are shared
// and never written to.
type cameraLoop struct {
	// frames[0] is a keyframe; an empty frame is one the encoder dropped
	// (rate control), skipped on replay as the live camera skips it.
	frames [][]byte
}

// loopKey is everything that changes a loop's bytes.
type loopKey struct {
	mime               string
	width, height, fps int
	y, u, v            byte
	moving, counter    bool
	id, frames         int
	stripes, bitrate   int
}

// loopEntry encodes its loop once, however many clients ask at the same
// time.
type loopEntry struct {
	once sync.Once
	loop *cameraLoop
	err  error
}

// loops caches encoded loops for the whole process, so N load-generator
// clients cost one encode. Entries are never dropped: a run uses a handful
// of camera options.
var loops = struct {
	mu sync.Mutex
	m  map[loopKey]*loopEntry
}{m: map[loopKey]*loopEntry{}}

// sharedLoop returns the encoded loop of camera o (defaults applied) in the
// codec mime, encoding it on first use.
func sharedLoop(mime string, o VideoOptions) (*cameraLoop, error) {
	k := loopKey{mime: mime, width: o.Width, height: o.Height, fps: o.FPS, y: o.Y, u: o.U, v: o.V,
		moving: o.Moving, counter: o.Counter, frames: o.Loop, stripes: o.Stripes, bitrate: o.BitrateBps}
	if o.Counter {
		k.id = o.ID // without a counter the ID paints nothing
	}
	loops.mu.Lock()
	e := loops.m[k]
	if e == nil {
		e = &loopEntry{}
		loops.m[k] = e
	}
	loops.mu.Unlock()
	// Encoding outside loops.mu: other cameras' loops need not wait.
	e.once.Do(func() { e.loop, e.err = encodeLoop(mime, o) })
	return e.loop, e.err
}

// encodeLoop paints and encodes frames 0..o.Loop-1 of camera o, with the
// live camera's painter and encoder settings.
func encodeLoop(mime string, o VideoOptions) (*cameraLoop, error) {
	cam, err := newLiveCamera(mime, o)
	if err != nil {
		return nil, err
	}
	defer cam.close()
	l := &cameraLoop{frames: make([][]byte, o.Loop)}
	for n := range l.frames {
		out, key, err := cam.frame(n, n == 0)
		if err != nil {
			return nil, err
		}
		if n == 0 && !key {
			return nil, fmt.Errorf("pionclient: %s loop: the first frame is not a keyframe", mime)
		}
		l.frames[n] = out
	}
	return l, nil
}
