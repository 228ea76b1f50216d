package room

import (
	"cmp"
	"slices"
	"time"

	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/media"
)

const (
	// frozenFor is how long a participant whose frames stopped keeps its
	// last picture before the placeholder replaces it.
	frozenFor = 2 * time.Second
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
	p *participant
	// vin is p's decoded video as the snapshot found it: a participant
	// that connects gets it under the room's lock, mid-tick perhaps.
	vin        *videoIn
	spoke      time.Time
	label      string
	videoMuted bool
	// screen: the tile is p's screen share (vin is its presentation).
	screen bool
	// overlay is what is drawn over the tile: name, mute mark, highlight.
	overlay compositor.Overlay
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
		if t.screen {
			dst = append(dst, "/screen"...)
		}
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
	// share is the screen share shown this tick (valid when hasShare).
	share    tileRef
	hasShare bool
	// quiet are the sharers to ask for a keyframe this tick.
	quiet []*participant
	// The tick's views to compose and encode, split across cores
	// (videoworkers.go): the workers (nil: all on the clock goroutine),
	// the work function, made once, and its tick.
	par        *parallelFor
	slots      goSlots
	jobs       []*videoGroup
	encodeWork func(lo, hi int)
	tickN      int64
	tickNow    time.Time
}

// videoReceiver is a participant who receives video, with its layout, as
// snapshotted for one tick.
type videoReceiver struct {
	p      *participant
	layout Layout
}

func newVideoClock(r *Room) *videoClock {
	vc := &videoClock{groups: map[string]*videoGroup{}}
	vc.encodeWork = func(lo, hi int) {
		for _, g := range vc.jobs[lo:hi] {
			r.encodeGroup(g, vc.tickN, vc.tickNow, vc.slots)
		}
	}
	return vc
}

// close stops the workers and frees every output's encoders.
func (vc *videoClock) close() {
	vc.par.close()
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
	clear(vc.quiet[:cap(vc.quiet)])
	vc.share = tileRef{}
}

// runVideo is the room's video clock: at the canvas frame rate, compose
// each distinct view once, encode it once per codec and rung in use, and
// queue the bytes to every receiver of that rung.
func (r *Room) runVideo() {
	defer close(r.videoDone)
	lowerThreadPriority()
	vc := newVideoClock(r)
	vc.par, vc.slots = newVideoWorkers(r.manager.cfg.Cores), newGoSlots(r.manager.cfg.Cores)
	defer func() {
		vc.close()
		r.countEncoders(nil)
	}()
	sched := newSchedule(r.start, time.Second/time.Duration(r.canvas.FPS), maxVideoCatchUp)
	w := newDeadlineWaiter(r.clock, r.stop, false)
	defer w.close()
	for idled := false; ; {
		n, deadline, skipped := sched.next(r.clock.Now())
		if !idled {
			r.stats.videoSkipped.Add(uint64(skipped))
		}
		if !w.wait(deadline) {
			return
		}
		r.videoTick(n, deadline, vc)
		r.stats.videoTicks.Add(1)
		if idled = len(vc.groups) == 0; idled && !r.idleVideo(w) {
			return
		}
	}
}

// videoTick produces one frame of every view and rung in use.
func (r *Room) videoTick(n int64, at time.Time, vc *videoClock) {
	defer vc.forget()
	vc.slots.acquire()
	defer vc.slots.release()
	featured, excludeSelf := r.snapshot(vc)
	for _, p := range vc.quiet {
		r.refreshShare(p)
	}
	for _, g := range vc.groups {
		g.used = false
		for _, ro := range g.rungs {
			ro.users, ro.fresh = 0, false
		}
	}
	now := r.clock.Now()
	follow := n%int64(max(r.canvas.FPS/linkUpdatesPerSecond, 1)) == 0
	for _, rc := range vc.receivers {
		g := r.assign(vc, rc, featured, excludeSelf, now)
		if g == nil {
			continue
		}
		r.serve(rc.p, g, at, follow)
	}
	vc.jobs = vc.jobs[:0]
	for key, g := range vc.groups {
		if !g.used {
			g.close()
			delete(vc.groups, key)
			continue
		}
		vc.jobs = append(vc.jobs, g)
	}
	vc.tickN, vc.tickNow = n, now
	vc.slots.release() // the jobs take slots of their own
	vc.par.run(len(vc.jobs), vc.encodeWork)
	vc.slots.acquire()
	clear(vc.jobs)
	for _, rc := range vc.receivers {
		r.forwardOne(rc.p, n, at, vc.groups)
	}
	r.countEncoders(vc.groups)
}

// snapshot takes the tick's tiles and receivers (membership, layouts,
// names) under the room's lock, into vc; composing and encoding happen
// outside it, so joins and listings never wait for video.
func (r *Room) snapshot(vc *videoClock) (featured media.ParticipantID, excludeSelf bool) {
	tiles, receivers := vc.tiles[:0], vc.receivers[:0]
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var sharer *participant
	sharer, vc.quiet = r.followSharesLocked(now, vc.quiet[:0])
	vc.hasShare = sharer != nil
	if vc.hasShare {
		vc.share = tileRef{p: sharer, vin: sharer.pres, label: sharer.name, screen: true}
		if !r.opts.NoLabels {
			vc.share.overlay.Name = sharer.name
		}
	}
	roomLayout := r.layout
	if vc.hasShare && !r.layoutSet {
		roomLayout = Layout{Type: LayoutPresentation}
	}
	for _, p := range r.roster {
		if p.isTile() {
			spoke := time.Unix(0, p.lastSpoke.Load())
			t := tileRef{p: p, spoke: spoke, label: p.name, videoMuted: p.videoMuted, vin: p.vin}
			if !r.opts.NoLabels {
				t.overlay.Name, t.overlay.Muted = p.name, p.muted
			}
			// Talking, held as long as the active speaker's hold, so
			// the border does not blink between words.
			t.overlay.Highlight = !r.opts.NoHighlight && (p.talking.Load() || now.Sub(spoke) < speakerHold)
			tiles = append(tiles, t)
		}
		// A receiver is served once connected, until it fails.
		if p.vout != nil && !p.pending && !p.failed.Load() {
			l, ok := r.overrides[p.id]
			if !ok {
				l = roomLayout
			}
			receivers = append(receivers, videoReceiver{p, l})
		}
	}
	vc.tiles, vc.receivers = tiles, receivers
	return r.featuredLocked(), r.opts.ExcludeSelf
}

// assign finds (or makes) the output whose view the receiver sees: the
// tiles in its layout's arrangement, in its codec. The first receiver of a
// group in a tick sets the group's tiles. nil: no output could be made.
func (r *Room) assign(vc *videoClock, rc videoReceiver, featured media.ParticipantID, excludeSelf bool, now time.Time) *videoGroup {
	p := rc.p
	view := vc.view[:0]
	for _, t := range vc.tiles {
		if !(excludeSelf && t.p == p) {
			view = append(view, t)
		}
	}
	vc.view = view
	var share *tileRef
	if vc.hasShare {
		share = &vc.share
	}
	arranged, layout := rc.layout.arrange(view, featured, share, &vc.custom)
	vc.key = appendViewKey(vc.key[:0], p.sendVideoCodec, rc.layout, arranged)
	g, ok := vc.groups[string(vc.key)]
	if !ok {
		key := string(vc.key)
		var err error
		if g, err = r.newVideoGroup(key); err != nil {
			r.log.Warn("cannot create video output", "err", err)
			return nil
		}
		vc.groups[key] = g
	}
	if !g.used {
		g.used = true
		g.setLayout(layout)
		g.tiles, g.ins = g.tiles[:0], g.ins[:0]
		for _, t := range arranged {
			tile, in := t.tile(now)
			g.tiles = append(g.tiles, tile)
			if in != nil && !slices.Contains(g.ins, in) {
				g.ins = append(g.ins, in)
			}
		}
		slices.SortFunc(g.ins, func(a, b *videoIn) int { return cmp.Compare(a.order, b.order) })
	}
	return g
}

// tile is the participant's tile for the compositor at time now: its
// latest picture unless it has none, it is older than frozenFor or video is
// muted (then the placeholder with its name), and the decoder to lock
// while it is read.
func (t tileRef) tile(now time.Time) (compositor.Tile, *videoIn) {
	tile := compositor.Tile{Label: t.label, Overlay: t.overlay}
	in := t.vin
	if in == nil || (t.videoMuted && !t.screen) {
		return tile, nil
	}
	frozen := frozenFor
	if t.screen {
		frozen = shareIdle
	}
	in.mu.RLock()
	defer in.mu.RUnlock()
	if !in.have || now.Sub(in.at) > frozen {
		return tile, nil
	}
	tile.Frame, tile.Version = &in.latest, in.version
	return tile, in
}

// videoTS is the RTP time (90 kHz) of video tick n at fps frames per
// second, counted from the room clock's start like the audio timestamps:
// exact for any rate, where a truncated frame period would drift.
func videoTS(n int64, fps int) uint32 {
	return uint32(n * media.VideoClockRate / int64(fps))
}
