package room

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/ladder"
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

// recentSpeakers keeps the n tiles that spoke most recently (ties: the
// earlier in view first), in view order. It moves them to the front of
// view and returns that prefix: for n up to maxTiles, choosing allocates
// nothing.
func recentSpeakers(view []tileRef, n int) []tileRef {
	if len(view) <= n {
		return view
	}
	// best holds the indices of the n best so far, best first. A later
	// tile that only ties the worst kept one ranks below it, so it must
	// be strictly more recent to get in.
	var buf [maxTiles]int
	best := buf[:0]
	for i, t := range view {
		if len(best) == n && !t.spoke.After(view[best[n-1]].spoke) {
			continue
		}
		at := len(best)
		for at > 0 && t.spoke.After(view[best[at-1]].spoke) {
			at--
		}
		if len(best) < n {
			best = append(best, 0)
		}
		copy(best[at+1:], best[at:len(best)-1])
		best[at] = i
	}
	slices.Sort(best)
	// best is ascending and best[k] >= k: moving forward never overwrites
	// a tile still to be moved.
	for k, i := range best {
		view[k] = view[i]
	}
	return view[:n]
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
	link     LinkPeer // nil: no link feedback, the receiver stays on the top rung
	tsOffset uint32
	// The rest is the video goroutine's, except view (under mu).
	group  *videoGroup // the group whose bytes it receives
	rung   int         // the rung it receives (ladder.Paused: none)
	target int         // the rung it is switching to, at that rung's next keyframe
	ctl    *ladder.Controller
	est    media.LinkSample
	padBps int

	mu   sync.Mutex
	view VideoReception
}

// videoGroup is one distinct view (which tiles, in which order) in one
// codec, composed once per tick and encoded once per rung in use for every
// receiver of that rung.
type videoGroup struct {
	key    string
	layout compositor.Layout
	custom compositor.Custom // layout's regions when it is a custom layout
	comp   *compositor.Compositor
	tiles  []compositor.Tile
	ins    []*videoIn // the decoders whose pictures tiles point at
	rungs  []*rungOut
	used   bool // has a receiver this tick
}

// rungOut is one rung of a group: the canvas scaled to the rung's size and
// its encoder, which exists only while some receiver is on (or switching
// to) the rung.
type rungOut struct {
	idx    int // its index on the ladder
	spec   Rung
	every  int                    // encode every every-th canvas tick (rung fps below the canvas's)
	scaler *compositor.Compositor // nil when the rung is the canvas size
	one    [1]compositor.Tile
	enc    codec.VideoEncoder
	out    []byte
	outKey bool
	fresh  bool // out was produced this tick
	// lastKey rate-limits forced keyframes per rung; wantKey asks for one.
	lastKey time.Time
	wantKey bool
	users   int
}

// appendViewKey appends the name of an output to dst: codec, arrangement
// and the tiles in order (with what each shows), so equal views share one
// encoder.
func appendViewKey(dst []byte, codecName string, l Layout, tiles []tileRef) []byte {
	dst = append(dst, codecName...)
	dst = append(dst, '|')
	dst = l.appendKey(dst)
	for _, t := range tiles {
		dst = append(dst, '|')
		dst = append(dst, t.p.id...)
		if t.videoMuted {
			dst = append(dst, "/muted"...)
		}
	}
	return dst
}

// videoClock is what the room's video clock keeps from tick to tick: the
// outputs, and the buffers each tick refills, so that a tick whose views
// and rungs did not change allocates nothing.
type videoClock struct {
	groups    map[string]*videoGroup // by view key
	tiles     []tileRef
	receivers []videoReceiver
	view      []tileRef
	custom    customBuf
	key       []byte
}

// videoReceiver is a participant who receives video, with its layout, as
// snapshotted for one tick.
type videoReceiver struct {
	p      *participant
	layout Layout
}

func newVideoClock() *videoClock {
	return &videoClock{groups: map[string]*videoGroup{}}
}

// close frees every output's encoders.
func (vc *videoClock) close() {
	for _, g := range vc.groups {
		g.close()
	}
}

// forget drops the tick's references to participants, so the buffers do
// not keep those who left (and their pictures) alive.
func (vc *videoClock) forget() {
	clear(vc.tiles[:cap(vc.tiles)])
	clear(vc.receivers[:cap(vc.receivers)])
	clear(vc.view[:cap(vc.view)])
	clear(vc.custom.tiles[:cap(vc.custom.tiles)])
}

// runVideo is the room's video clock: at the canvas frame rate, compose
// each distinct view once, encode it once per codec and rung in use, and
// queue the bytes to every receiver of that rung.
func (r *Room) runVideo() {
	defer close(r.videoDone)
	vc := newVideoClock()
	defer func() {
		vc.close()
		r.countEncoders(nil)
	}()
	sched := newSchedule(r.start, time.Second/time.Duration(r.canvas.FPS), maxVideoCatchUp)
	w := newDeadlineWaiter(r.clock, r.stop)
	defer w.close()
	for {
		n, deadline, skipped := sched.next(r.clock.Now())
		r.stats.videoSkipped.Add(uint64(skipped))
		if !w.wait(deadline) {
			return
		}
		r.videoTick(n, deadline, vc)
		r.stats.videoTicks.Add(1)
	}
}

// videoTick produces one frame of every view and rung in use.
func (r *Room) videoTick(n int64, at time.Time, vc *videoClock) {
	defer vc.forget()
	// Snapshot membership, layouts and names under the lock; compose and
	// encode outside it so the audio clock and joins never wait for video.
	tiles, receivers := vc.tiles[:0], vc.receivers[:0]
	r.mu.Lock()
	for _, p := range r.members {
		if p.isTile() {
			tiles = append(tiles, tileRef{p: p, spoke: p.lastSpoke, label: p.name, videoMuted: p.videoMuted})
		}
		if p.vout != nil {
			l, ok := r.overrides[p.id]
			if !ok {
				l = r.layout
			}
			receivers = append(receivers, videoReceiver{p, l})
		}
	}
	featured := r.featuredLocked()
	excludeSelf := r.opts.ExcludeSelf
	r.mu.Unlock()
	vc.tiles, vc.receivers = tiles, receivers

	groups := vc.groups
	for _, g := range groups {
		g.used = false
		for _, ro := range g.rungs {
			ro.users, ro.fresh = 0, false
		}
	}
	now := r.clock.Now()
	follow := n%int64(max(r.canvas.FPS/linkUpdatesPerSecond, 1)) == 0
	for _, rc := range receivers {
		p := rc.p
		view := vc.view[:0]
		for _, t := range tiles {
			if !(excludeSelf && t.p == p) {
				view = append(view, t)
			}
		}
		vc.view = view
		arranged, layout := rc.layout.arrange(view, featured, &vc.custom)
		vc.key = appendViewKey(vc.key[:0], p.sendVideoCodec, rc.layout, arranged)
		g, ok := groups[string(vc.key)]
		if !ok {
			key := string(vc.key)
			var err error
			if g, err = r.newVideoGroup(key); err != nil {
				r.log.Warn("cannot create video output", "err", err)
				continue
			}
			groups[key] = g
		}
		if !g.used {
			g.used = true
			g.setLayout(layout)
			g.tiles, g.ins = g.tiles[:0], g.ins[:0]
			for _, t := range arranged {
				tile, in := t.tile(now)
				g.tiles = append(g.tiles, tile)
				if in != nil {
					g.ins = append(g.ins, in)
				}
			}
		}
		vo := p.vout
		if follow {
			r.followLink(p, at)
		}
		if vo.group != g {
			// A new receiver of this output starts at a keyframe of the
			// rung it should be on.
			vo.group = g
			if vo.target != ladder.Paused {
				vo.rung = vo.target
				g.rungs[vo.rung].wantKey = true
			}
		}
		if vo.rung != ladder.Paused {
			g.rungs[vo.rung].users++
		}
		if vo.target != vo.rung && vo.target != ladder.Paused {
			// Switching: only the target rung makes a keyframe, so the
			// receivers that stay are not disturbed.
			g.rungs[vo.target].users++
			g.rungs[vo.target].wantKey = true
		}
		if vo.peer.TakeKeyFrameRequest() && vo.rung != ladder.Paused {
			g.rungs[vo.rung].wantKey = true
			r.onEvent(Event{Type: EventKeyFrameRequested, Room: r.id, Participant: p.id, At: at})
		}
	}
	for key, g := range groups {
		if !g.used {
			g.close()
			delete(groups, key)
			continue
		}
		r.encodeGroup(g, n, now)
	}
	for _, rc := range receivers {
		r.forward(rc.p, n, at, groups)
	}
	r.countEncoders(groups)
}

// newVideoGroup creates the compositor of one view and its rungs; their
// encoders come when a receiver needs them.
func (r *Room) newVideoGroup(key string) (*videoGroup, error) {
	comp, err := compositor.New(r.canvas.Width, r.canvas.Height)
	if err != nil {
		return nil, err
	}
	g := &videoGroup{key: key, comp: comp}
	for i, spec := range r.rungs {
		ro := &rungOut{idx: i, spec: spec, every: r.canvas.FPS / spec.FPS}
		if spec.Width != r.canvas.Width || spec.Height != r.canvas.Height {
			if ro.scaler, err = compositor.New(spec.Width, spec.Height); err != nil {
				return nil, err
			}
		}
		g.rungs = append(g.rungs, ro)
	}
	return g, nil
}

// setLayout makes l the layout the group composes with this tick. A custom
// layout is copied into the group's own: arrange resolves it into the
// clock's buffer, which the next receiver's arrangement overwrites before
// the group composes.
func (g *videoGroup) setLayout(l compositor.Layout) {
	if c, ok := l.(*compositor.Custom); ok {
		g.custom.Regions = append(g.custom.Regions[:0], c.Regions...)
		l = &g.custom
	}
	g.layout = l
}

// close frees the group's encoders.
func (g *videoGroup) close() {
	for _, ro := range g.rungs {
		ro.closeEncoder()
	}
}

func (ro *rungOut) closeEncoder() {
	if ro.enc != nil {
		_ = ro.enc.Close()
		ro.enc = nil
	}
	ro.out = ro.out[:0]
}

// encodeGroup composes the group's view once and encodes it for every rung
// in use whose frame rate has a frame at tick n.
func (r *Room) encodeGroup(g *videoGroup, n int64, now time.Time) {
	var canvas *media.VideoFrame
	for _, ro := range g.rungs {
		if ro.users == 0 {
			ro.closeEncoder()
			continue
		}
		if n%int64(ro.every) != 0 {
			continue
		}
		if canvas == nil {
			if canvas = r.compose(g); canvas == nil {
				return
			}
		}
		r.encodeRung(g, ro, canvas, now)
	}
}

// compose draws the group's tiles into its canvas.
func (r *Room) compose(g *videoGroup) *media.VideoFrame {
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
			return nil
		}
		// One tile's picture was unusable: it is drawn as a placeholder
		// and everyone else's canvas goes on.
		r.log.Debug("tile replaced by a placeholder", "err", err)
	}
	return canvas
}

// encodeRung scales the canvas to the rung's size and encodes it into
// ro.out (empty if the encoder dropped the frame).
func (r *Room) encodeRung(g *videoGroup, ro *rungOut, canvas *media.VideoFrame, now time.Time) {
	ro.out, ro.outKey, ro.fresh = ro.out[:0], false, true
	if ro.enc == nil {
		c, err := r.reg.Video(codecOfKey(g.key))
		if err == nil {
			ro.enc, err = c.NewEncoder(codec.VideoEncoderParams{Width: ro.spec.Width, Height: ro.spec.Height, FPS: ro.spec.FPS, BitrateBps: ro.spec.BitrateBps})
		}
		if err != nil {
			r.stats.videoEncodeErrs.Add(1)
			r.log.Warn("cannot create video encoder", "err", err)
			return
		}
		// Room for a second of the rung's bits: the encoders' rate control
		// keeps frames, keyframes included, well under that, so Encode
		// does not have to grow (allocate) the output; a frame that is
		// bigger still only costs that one allocation.
		if need := ro.spec.BitrateBps / 8; cap(ro.out) < need {
			ro.out = make([]byte, 0, need)
		}
	}
	pic := canvas
	if ro.scaler != nil {
		ro.one[0].Frame = canvas
		var err error
		if pic, err = ro.scaler.Compose(compositor.Grid(), ro.one[:]); pic == nil {
			r.log.Warn("scaling the canvas failed", "err", err)
			return
		}
	}
	if ro.wantKey && now.Sub(ro.lastKey) >= minKeyFrameInterval {
		if kc, ok := ro.enc.(codec.KeyFrameController); ok {
			kc.ForceKeyFrame()
			r.stats.keyFramesForced.Add(1)
			r.stats.rungKeysForced[ro.idx].Add(1)
		}
		ro.wantKey = false
	}
	out, key, err := ro.enc.Encode(pic, ro.out)
	if err != nil {
		r.stats.videoEncodeErrs.Add(1)
		r.log.Debug("video encode failed", "err", err)
		return
	}
	ro.out, ro.outKey = out, key
	if key {
		ro.lastKey = now
		ro.wantKey = false
	}
}

// codecOfKey is the codec a view key names (its first field).
func codecOfKey(key string) string {
	c, _, _ := strings.Cut(key, "|")
	return c
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
