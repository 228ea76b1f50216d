package room

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// videoIn decodes one participant's incoming frames on its own goroutine
// and keeps only the latest picture for the compositor.
type videoIn struct {
	// mu guards latest: the decoder swaps in a new picture under the
	// write lock, composes read it under read locks, several at once
	// (views composed in parallel), taken in order of order.
	mu     sync.RWMutex
	order  uint64
	latest media.VideoFrame
	have   bool
	at     time.Time // when latest was decoded
	since  time.Time // when the current run of pictures began (after a gap of shareIdle)
	// version names latest's pixels for the compositor's dirty tracking
	// (compositor.Tile.Version): a new picture takes the next number.
	version uint64
	done    chan struct{}
}

// pictureVersions numbers every decoded picture of the process, so that a
// version never names two pictures, whichever tile shows them;
// videoInOrders numbers the videoIns, the order composes lock them in.
var pictureVersions, videoInOrders atomic.Uint64

func newVideoIn() *videoIn {
	return &videoIn{done: make(chan struct{}), order: videoInOrders.Add(1)}
}

// frameSource is where a videoIn takes its frames from: a VideoPeer's
// camera, or its presentation track.
type frameSource interface {
	VideoFrames() <-chan []byte
	RequestKeyFrame()
}

// startVideoIn decodes frames until the peer closes its frame channel. A
// panic in decoding ends the goroutine and is handed to failed.
func startVideoIn(vp frameSource, dec codec.VideoDecoder, clock media.Clock, c *counters, rx *atomic.Uint64, log *slog.Logger, failed func(any)) *videoIn {
	v := newVideoIn()
	go func() {
		defer close(v.done)
		defer dec.Close()
		defer func() {
			if p := recover(); p != nil {
				failed(p)
			}
		}()
		var spare media.VideoFrame
		for frame := range vp.VideoFrames() {
			rx.Add(uint64(len(frame)))
			pic, err := dec.Decode(frame)
			if err != nil {
				c.videoDecodeErrs.Add(1)
				if !errors.Is(err, codec.ErrNeedKeyFrame) {
					log.Debug("video decode failed", "err", err)
				}
				vp.RequestKeyFrame()
				continue
			}
			if pic == nil {
				continue
			}
			c.videoDecoded.Add(1)
			// Copy outside the lock, then swap: the compositor only
			// waits for a pointer swap, never for a copy or a decode.
			spare.CopyFrom(pic)
			now := clock.Now()
			v.mu.Lock()
			v.latest, spare = spare, v.latest
			if !v.have || now.Sub(v.at) > shareIdle {
				v.since = now
			}
			v.have, v.at, v.version = true, now, pictureVersions.Add(1)
			v.mu.Unlock()
		}
	}()
	return v
}
