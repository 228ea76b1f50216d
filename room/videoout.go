package room

import (
	"strings"
	"sync"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/media"
)

// minKeyFrameInterval rate-limits forced keyframes per encoder, so one
// receiver's PLIs cannot make every frame a keyframe; with it a request is
// served within minKeyFrameInterval plus one frame.
const minKeyFrameInterval = 300 * time.Millisecond

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
	spec   ladder.Rung
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
	// changed is what changed on the canvas since the last frame sent,
	// lastSent when that was (videostatic.go).
	changed  changedMap
	lastSent time.Time
}

// newVideoGroup creates the compositor of one view and its rungs; their
// encoders come when a receiver needs them.
func (r *Room) newVideoGroup(key string) (*videoGroup, error) {
	comp, err := compositor.New(r.canvas.Width, r.canvas.Height)
	if err != nil {
		return nil, err
	}
	comp.SetOverlayUnit(r.overlayUnit())
	g := &videoGroup{key: key, comp: comp}
	for i, spec := range r.rungs {
		ro := &rungOut{idx: i, spec: spec, every: r.canvas.FPS / spec.FPS}
		ro.changed.reset(spec.Width, spec.Height)
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
		ro.changed.reset(ro.spec.Width, ro.spec.Height)
	}
	ro.out = ro.out[:0]
}

// encodeGroup composes the group's view once and encodes it for every rung
// in use whose frame rate has a frame at tick n and whose canvas changed
// (or owes a keyframe or a keep-alive: videostatic.go).
func (r *Room) encodeGroup(g *videoGroup, n int64, now time.Time, slots goSlots) {
	slots.acquire()
	defer slots.release()
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
			g.noteDamage(r.canvas.Width, r.canvas.Height)
		}
		if ro.unchanged(now) {
			r.stats.videoUnchanged.Add(1)
			continue
		}
		r.encodeRung(g, ro, canvas, now, slots)
	}
}

// compose draws the group's tiles into its canvas.
func (r *Room) compose(g *videoGroup) *media.VideoFrame {
	// Hold the tiles' pictures still while the compositor reads them; the
	// decoders only ever wait for this, never the other way round. Views
	// composed at once share tiles: each takes the read locks in the
	// same order (assign sorts ins), so none waits in a cycle.
	for _, in := range g.ins {
		in.mu.RLock()
	}
	canvas, err := g.comp.Compose(g.layout, g.tiles)
	for _, in := range g.ins {
		in.mu.RUnlock()
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
func (r *Room) encodeRung(g *videoGroup, ro *rungOut, canvas *media.VideoFrame, now time.Time, slots goSlots) {
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
	ro.applyChanged()
	// The encode is C: it holds no P, so it needs no slot (videoworkers.go).
	slots.release()
	out, key, err := ro.enc.Encode(pic, ro.out)
	slots.acquire()
	if err != nil {
		r.stats.videoEncodeErrs.Add(1)
		r.log.Debug("video encode failed", "err", err)
		return
	}
	ro.out, ro.outKey = out, key
	if len(out) > 0 {
		ro.changed.encoded()
		ro.lastSent = now
	}
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

// linkUpdatesPerSecond is how often each receiver's rung is reconsidered.
const linkUpdatesPerSecond = 10

// newLadderController places a new receiver on the top rung; nil when the
// room has a single rung (no adaptation).
func newLadderController(rungs []ladder.Rung) *ladder.Controller {
	if len(rungs) < 2 {
		return nil
	}
	c, err := ladder.New(ladder.Config{Rates: ladder.Rates(rungs)}, 0)
	if err != nil {
		return nil // Options.Validate already refused such a ladder
	}
	return c
}

// followLink moves the receiver's target rung with its link and keeps its
// probe padding and its view up to date.
func (r *Room) followLink(p *participant, at time.Time) {
	vo := p.vout
	if vo.link == nil || vo.ctl == nil {
		return
	}
	vo.est = vo.link.Link()
	sample := ladder.Sample{EstimateBps: vo.est.EstimateBps, Loss: vo.est.Loss, SentBps: vo.est.SentBps,
		Congested: vo.est.Congested, FeedbackLoss: vo.est.FeedbackLoss, ContentLimited: r.contentLimited(vo),
		DeliveredBps: vo.est.DeliveredBps, QueueDelay: vo.est.QueueDelay}
	dec := vo.ctl.Update(at, sample)
	vo.target = dec.Rung
	if dec.Probing != (vo.padBps > 0) {
		r.log.Debug("ladder probe", "participant", p.id, "probing", dec.Probing, "rung", dec.Rung, "estimate", vo.est.EstimateBps, "congested", vo.est.Congested, "loss", vo.est.Loss, "feedback_loss", vo.est.FeedbackLoss, "queue_delay", vo.est.QueueDelay)
	}
	if dec.PadBps != vo.padBps {
		vo.padBps = dec.PadBps
		vo.link.SetPadding(dec.PadBps)
	}
	if vo.target == ladder.Paused && vo.rung != ladder.Paused {
		r.switchRung(p, ladder.Paused, at) // pausing needs no keyframe
	}
	r.stats.paddingBytes.Add(uint64(dec.PadBps / linkUpdatesPerSecond / 8))
	vo.mu.Lock()
	v := &vo.view
	v.Target, v.EstimateBps, v.EstimateSource = vo.target, vo.ctl.Effective(sample), vo.est.Source
	v.Loss, v.RTT, v.Probing = vo.est.Loss, vo.est.RTT, dec.Probing
	vo.mu.Unlock()
}

// receive counts the receiver among the users of group g's rungs: the one
// it is on and the one it is switching to, each asked for a keyframe
// where the receiver needs one.
func (r *Room) receive(p *participant, g *videoGroup, at time.Time) {
	vo := p.vout
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

// forward sends the receiver its rung's frame of tick n, first moving it to
// its target rung when that rung has just made a keyframe.
func (r *Room) forward(p *participant, n int64, at time.Time, groups map[string]*videoGroup) {
	vo := p.vout
	g := vo.group
	if g == nil || groups[g.key] != g {
		return
	}
	if vo.target != vo.rung && vo.target != ladder.Paused {
		if t := g.rungs[vo.target]; t.fresh && t.outKey {
			r.switchRung(p, vo.target, at)
		}
	}
	if vo.rung == ladder.Paused {
		return
	}
	ro := g.rungs[vo.rung]
	if !ro.fresh || len(ro.out) == 0 {
		return
	}
	ts := vo.tsOffset + videoTS(n, r.canvas.FPS)
	_ = vo.peer.WriteVideo(ro.out, ro.outKey, ts, at)
}

// switchRung moves the receiver to rung to (ladder.Paused: audio only).
func (r *Room) switchRung(p *participant, to int, at time.Time) {
	vo := p.vout
	from := vo.rung
	vo.rung = to
	r.stats.rungSwitches.Add(1)
	vo.mu.Lock()
	vo.view.Rung, vo.view.Switches = to, vo.view.Switches+1
	vo.view.Size = ladder.Rung{}
	if to != ladder.Paused {
		vo.view.Size = r.rungs[to]
	}
	est := vo.view.EstimateBps
	vo.mu.Unlock()
	r.log.Info("video rung changed", "participant", p.id, "from", from, "to", to, "estimate_bps", est)
	r.onEvent(Event{Type: EventRungChanged, Room: r.id, Participant: p.id, At: at, Rung: to, FromRung: from, EstimateBps: est})
}

// reception is the receiver's view for listings.
func (vo *videoOut) reception() *VideoReception {
	vo.mu.Lock()
	defer vo.mu.Unlock()
	v := vo.view
	return &v
}

// countEncoders publishes the room's encoders per rung and its paused
// receivers (groups nil: none, the room is closing).
func (r *Room) countEncoders(groups map[string]*videoGroup) {
	var per [ladder.MaxRungs]int64
	for _, g := range groups {
		for i, ro := range g.rungs {
			if ro.enc != nil {
				per[i]++
			}
		}
	}
	for i := range per {
		r.rungEncoders[i].Store(per[i])
	}
}
