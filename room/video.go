package room

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/media"
)

// VideoPeer is what a room needs of a participant's transport for video;
// a Peer that carries video also implements it.
type VideoPeer interface {
	// VideoFrames delivers the participant's complete encoded frames in
	// order, starting at a keyframe; it is closed when the peer closes.
	VideoFrames() <-chan []byte
	// RequestKeyFrame asks the participant for a keyframe (PLI).
	RequestKeyFrame()
	// WriteVideo queues one encoded frame of the participant's view. It
	// never blocks; ts is the RTP timestamp (90 kHz) from the room clock,
	// at the room-clock time of the picture.
	WriteVideo(frame []byte, keyframe bool, ts uint32, at time.Time) error
	// TakeKeyFrameRequest reports, and clears, whether the participant
	// needs a keyframe of its view (it sent PLI/FIR, or its queue dropped).
	TakeKeyFrameRequest() bool
}

const (
	// frozenFor is how long a participant whose frames stopped keeps its
	// last picture before the placeholder replaces it.
	frozenFor = 2 * time.Second
	// minKeyFrameInterval rate-limits forced keyframes per encoder, so one
	// receiver's PLIs cannot make every frame a keyframe; with it a request
	// is served within minKeyFrameInterval plus one frame.
	minKeyFrameInterval = 300 * time.Millisecond
	// maxVideoCatchUp: a video clock further behind than this skips frames
	// (a burst of stale frames helps nobody).
	maxVideoCatchUp = 100 * time.Millisecond
	// maxTiles is the most tiles a canvas shows (a 4×4 grid); beyond it
	// the most recent speakers are shown.
	maxTiles = 16
)

// tileRef is a tile candidate as snapshotted (under the room lock) for one
// video tick.
type tileRef struct {
	p          *participant
	spoke      time.Time
	label      string
	videoMuted bool
}

// recentSpeakers keeps the n tiles that spoke most recently (ties: earlier
// joiners first), in join order.
func recentSpeakers(view []tileRef, n int) []tileRef {
	if len(view) <= n {
		return view
	}
	idx := make([]int, len(view))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return view[idx[a]].spoke.After(view[idx[b]].spoke) })
	keep := idx[:n]
	sort.Ints(keep)
	out := make([]tileRef, 0, n)
	for _, i := range keep {
		out = append(out, view[i])
	}
	return out
}

// videoIn decodes one participant's incoming frames on its own goroutine
// and keeps only the latest picture for the compositor.
type videoIn struct {
	mu     sync.Mutex
	latest media.VideoFrame
	have   bool
	at     time.Time // when latest was decoded
	done   chan struct{}
}

// startVideoIn decodes frames until the peer closes its frame channel.
func startVideoIn(vp VideoPeer, dec codec.VideoDecoder, clock media.Clock, c *counters, rx *atomic.Uint64, log *slog.Logger) *videoIn {
	v := &videoIn{done: make(chan struct{})}
	go func() {
		defer close(v.done)
		defer dec.Close()
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
			v.mu.Lock()
			v.latest, spare = spare, v.latest
			v.have, v.at = true, clock.Now()
			v.mu.Unlock()
		}
	}()
	return v
}

// videoOut is a participant's outgoing video.
type videoOut struct {
	peer     VideoPeer
	tsOffset uint32
	group    *videoGroup // the group whose bytes it receives; video goroutine only
}

// videoGroup is one distinct output: a view (which tiles, in which order)
// in one codec, composed once and encoded once for every receiver of it.
type videoGroup struct {
	key     string
	layout  compositor.Layout
	comp    *compositor.Compositor
	enc     codec.VideoEncoder
	out     []byte
	outKey  bool // out is a keyframe
	tiles   []compositor.Tile
	ins     []*videoIn // the decoders whose pictures tiles point at
	lastKey time.Time
	wantKey bool
	used    bool // has a receiver this tick
}

// viewKey names an output: codec, arrangement and the tiles in order
// (with what each shows), so equal views share one encoder.
func viewKey(codecName string, l Layout, tiles []tileRef) string {
	var b strings.Builder
	b.WriteString(codecName)
	b.WriteByte('|')
	b.WriteString(l.key())
	for _, t := range tiles {
		b.WriteByte('|')
		b.WriteString(string(t.p.id))
		if t.videoMuted {
			b.WriteString("/muted")
		}
	}
	return b.String()
}

// runVideo is the room's video clock: at the canvas frame rate, compose
// each distinct view once, encode it once per codec, and queue the bytes to
// every receiver of that view.
func (r *Room) runVideo() {
	defer close(r.videoDone)
	groups := map[string]*videoGroup{}
	defer func() {
		for _, g := range groups {
			_ = g.enc.Close()
		}
	}()
	sched := newSchedule(r.start, time.Second/time.Duration(r.opts.FPS), maxVideoCatchUp)
	w := newDeadlineWaiter(r.clock, r.stop)
	defer w.close()
	for {
		n, deadline, skipped := sched.next(r.clock.Now())
		r.stats.videoSkipped.Add(uint64(skipped))
		if !w.wait(deadline) {
			return
		}
		r.videoTick(n, deadline, groups)
		r.stats.videoTicks.Add(1)
	}
}

// videoTick produces one frame of every view in use.
func (r *Room) videoTick(n int64, at time.Time, groups map[string]*videoGroup) {
	// Snapshot membership, layouts and names under the lock; compose and
	// encode outside it so the audio clock and joins never wait for video.
	type receiver struct {
		p      *participant
		layout Layout
	}
	r.mu.Lock()
	var tiles []tileRef
	var receivers []receiver
	for _, p := range r.members {
		if p.isTile() {
			tiles = append(tiles, tileRef{p: p, spoke: p.lastSpoke, label: p.name, videoMuted: p.videoMuted})
		}
		if p.vout != nil {
			l, ok := r.overrides[p.id]
			if !ok {
				l = r.layout
			}
			receivers = append(receivers, receiver{p, l})
		}
	}
	featured := r.featuredLocked()
	r.mu.Unlock()

	for _, g := range groups {
		g.used = false
	}
	now := r.clock.Now()
	var view []tileRef
	for _, rc := range receivers {
		p := rc.p
		view = view[:0]
		for _, t := range tiles {
			if !(r.opts.ExcludeSelf && t.p == p) {
				view = append(view, t)
			}
		}
		arranged, layout := rc.layout.arrange(view, featured)
		key := viewKey(p.sendVideoCodec, rc.layout, arranged)
		g, ok := groups[key]
		if !ok {
			var err error
			if g, err = r.newVideoGroup(key, p.sendVideoCodec); err != nil {
				r.log.Warn("cannot create video encoder", "err", err)
				continue
			}
			groups[key] = g
		}
		if !g.used {
			g.used, g.layout = true, layout
			g.tiles, g.ins = g.tiles[:0], g.ins[:0]
			for _, t := range arranged {
				tile, in := t.tile(now)
				g.tiles = append(g.tiles, tile)
				if in != nil {
					g.ins = append(g.ins, in)
				}
			}
		}
		if p.vout.group != g {
			// A new receiver of this output starts at a keyframe.
			p.vout.group = g
			g.wantKey = true
		}
		if p.vout.peer.TakeKeyFrameRequest() {
			g.wantKey = true
			r.onEvent(Event{Type: EventKeyFrameRequested, Room: r.id, Participant: p.id, At: at})
		}
	}
	for key, g := range groups {
		if !g.used {
			_ = g.enc.Close()
			delete(groups, key)
			continue
		}
		r.encodeGroup(g, now)
	}
	for _, rc := range receivers {
		p := rc.p
		g := p.vout.group
		if g == nil || groups[g.key] != g || len(g.out) == 0 {
			continue
		}
		ts := p.vout.tsOffset + videoTS(n, r.opts.FPS)
		_ = p.vout.peer.WriteVideo(g.out, g.outKey, ts, at)
	}
	r.stats.videoEncoders.Store(int64(len(groups)))
}

// newVideoGroup creates the compositor and encoder of one output.
func (r *Room) newVideoGroup(key, codecName string) (*videoGroup, error) {
	c, err := r.reg.Video(codecName)
	if err != nil {
		return nil, err
	}
	comp, err := compositor.New(r.opts.Width, r.opts.Height)
	if err != nil {
		return nil, err
	}
	enc, err := c.NewEncoder(codec.VideoEncoderParams{Width: r.opts.Width, Height: r.opts.Height, FPS: r.opts.FPS, BitrateBps: r.opts.VideoBitrate})
	if err != nil {
		return nil, fmt.Errorf("%s encoder: %w", codecName, err)
	}
	return &videoGroup{key: key, comp: comp, enc: enc}, nil
}

// encodeGroup composes and encodes the group's view into g.out (empty if
// the encoder dropped the frame).
func (r *Room) encodeGroup(g *videoGroup, now time.Time) {
	g.out, g.outKey = g.out[:0], false
	// Hold the tiles' pictures still while the compositor reads them; the
	// decoders only ever wait for this, never the other way round.
	for _, in := range g.ins {
		in.mu.Lock()
	}
	canvas, err := g.comp.Compose(g.layout, g.tiles)
	for _, in := range g.ins {
		in.mu.Unlock()
	}
	if err != nil {
		if canvas == nil {
			r.log.Warn("compose failed", "err", err)
			return
		}
		// One tile's picture was unusable: it is drawn as a placeholder
		// and everyone else's canvas goes on.
		r.log.Debug("tile replaced by a placeholder", "err", err)
	}
	if g.wantKey && now.Sub(g.lastKey) >= minKeyFrameInterval {
		if kc, ok := g.enc.(codec.KeyFrameController); ok {
			kc.ForceKeyFrame()
			r.stats.keyFramesForced.Add(1)
		}
		g.wantKey = false
	}
	out, key, err := g.enc.Encode(canvas, g.out)
	if err != nil {
		r.stats.videoEncodeErrs.Add(1)
		r.log.Debug("video encode failed", "err", err)
		return
	}
	g.out, g.outKey = out, key
	if key {
		g.lastKey = now
	}
}

// tile is the participant's tile for the compositor at time now: its
// latest picture unless it has none, it is older than frozenFor or video is
// muted (then the placeholder with its name), and the decoder to lock
// while it is read.
func (t tileRef) tile(now time.Time) (compositor.Tile, *videoIn) {
	p := t.p
	tile := compositor.Tile{Label: t.label}
	if p.vin == nil || t.videoMuted {
		return tile, nil
	}
	p.vin.mu.Lock()
	defer p.vin.mu.Unlock()
	if !p.vin.have || now.Sub(p.vin.at) > frozenFor {
		return tile, nil
	}
	tile.Frame = &p.vin.latest
	return tile, p.vin
}

// isTile reports whether the participant appears on the canvas: everyone
// who sends audio or video; pure viewers do not.
func (p *participant) isTile() bool { return p.dec != nil || p.vin != nil }

// videoTS is the RTP time (90 kHz) of video tick n at fps frames per
// second, counted from the room clock's start like the audio timestamps:
// exact for any rate, where a truncated frame period would drift.
func videoTS(n int64, fps int) uint32 {
	return uint32(n * media.VideoClockRate / int64(fps))
}
