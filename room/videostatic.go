package room

import (
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/compositor"
)

// Video work only for what changed (DESIGN §2): the compositor redraws and
// reports the cells whose tile changed (compositor.Damage); each rung
// gathers that damage, scaled to its size, as a map of macroblocks since
// its last encoded frame. An encoder that takes a map (VP8's active map)
// spends nothing on the rest, and a rung whose canvas did not change at
// all is not encoded, except at keepAliveInterval and whenever a keyframe
// is due (a PLI, a new receiver): cameras off, placeholders, frozen
// pictures and an audio-only room with viewers cost next to nothing.

// keepAliveInterval is how often a rung whose canvas does not change still
// sends a frame (an all-unchanged one, a few bytes): receivers and
// middleboxes see the stream alive, and rate control keeps ticking.
const keepAliveInterval = time.Second

// scaleMargin widens a damaged rectangle scaled to a rung's size by the
// reach of the scaling filters (in rung pixels), so the macroblocks that
// a changed pixel bleeds into count as changed.
const scaleMargin = 2

// changedMap is a rung's macroblocks that changed since its last encoded
// frame.
type changedMap struct {
	cols, rows int
	mask       []byte // cols×rows, 1: changed
	any        bool   // some macroblock changed
	all        bool   // everything counts as changed (no frame yet)
}

// reset starts a rung of w×h pixels over: nothing encoded yet, so
// everything counts as changed.
func (m *changedMap) reset(w, h int) {
	m.cols = (w + codec.MacroblockSize - 1) / codec.MacroblockSize
	m.rows = (h + codec.MacroblockSize - 1) / codec.MacroblockSize
	if len(m.mask) != m.cols*m.rows {
		m.mask = make([]byte, m.cols*m.rows)
	}
	m.all, m.any = true, true
}

// encoded clears the map after a frame went out.
func (m *changedMap) encoded() {
	clear(m.mask)
	m.all, m.any = false, false
}

// add marks the damage of a canvasW×canvasH canvas on a rung of w×h.
func (m *changedMap) add(damage []compositor.Rect, canvasW, canvasH, w, h int) {
	if m.all {
		return
	}
	for _, d := range damage {
		x0 := max(d.X*w/canvasW-scaleMargin, 0)
		y0 := max(d.Y*h/canvasH-scaleMargin, 0)
		x1 := min(((d.X+d.W)*w+canvasW-1)/canvasW+scaleMargin, w)
		y1 := min(((d.Y+d.H)*h+canvasH-1)/canvasH+scaleMargin, h)
		if x1 <= x0 || y1 <= y0 {
			continue
		}
		for my := y0 / codec.MacroblockSize; my <= (y1-1)/codec.MacroblockSize; my++ {
			row := m.mask[my*m.cols : (my+1)*m.cols]
			for mx := x0 / codec.MacroblockSize; mx <= (x1-1)/codec.MacroblockSize; mx++ {
				row[mx] = 1
			}
		}
		m.any = true
	}
}

// noteDamage adds the group's last compose's damage to every rung in use,
// whether or not it encodes at this tick.
func (g *videoGroup) noteDamage(canvasW, canvasH int) {
	damage := g.comp.Damage()
	for _, ro := range g.rungs {
		if ro.users > 0 && len(damage) > 0 {
			ro.changed.add(damage, canvasW, canvasH, ro.spec.Width, ro.spec.Height)
		}
	}
}

// unchanged reports whether the rung can skip this frame: it has an
// encoder, no keyframe is due, nothing on its canvas changed since its
// last frame, and that frame is recent.
func (ro *rungOut) unchanged(now time.Time) bool {
	keyDue := ro.wantKey && now.Sub(ro.lastKey) >= minKeyFrameInterval
	return ro.enc != nil && !keyDue && !ro.changed.any && now.Sub(ro.lastSent) < keepAliveInterval
}

// applyChanged hands the encoder the rung's changed macroblocks, if it
// takes them and not everything changed.
func (ro *rungOut) applyChanged() {
	am, ok := ro.enc.(codec.ActiveMapEncoder)
	if !ok || ro.changed.all {
		return
	}
	_ = am.SetActiveMap(ro.changed.mask, ro.changed.cols, ro.changed.rows) // its size is the encoder's: never refused
}

// contentLimited reports whether the receiver was sent clearly less than
// its rung's bitrate over the last second: its encoder spent only what the
// changed parts of the canvas needed (or nothing, on an unchanged one), so
// the link estimate, which only grows with what is sent, must not move it
// down (ladder.Sample.ContentLimited).
func (r *Room) contentLimited(vo *videoOut) bool {
	if vo.rung < 0 || vo.rung >= len(r.rungs) {
		return false
	}
	return vo.est.SentBps < r.rungs[vo.rung].BitrateBps*3/4
}
