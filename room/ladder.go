package room

import (
	"time"

	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/media"
)

// LinkReporter is implemented by peers whose transport learns about the
// path toward their receiver from its feedback (receiver reports,
// congestion control): the room sets their audio encoders' in-band FEC
// from the loss it shows.
type LinkReporter interface {
	// Link is what is known now of the path toward the receiver.
	Link() media.LinkSample
}

// LinkPeer is implemented by video receivers whose transport learns about
// their link and can probe it. Receivers without it stay on the top rung.
type LinkPeer interface {
	LinkReporter
	// SetPadding sends bps of padding on top of the media (0 stops): a
	// probe of whether the link carries the next rung.
	SetPadding(bps int)
}

// linkUpdatesPerSecond is how often each receiver's rung is reconsidered.
const linkUpdatesPerSecond = 10

// newLadderController places a new receiver on the top rung; nil when the
// room has a single rung (no adaptation).
func newLadderController(rungs []Rung) *ladder.Controller {
	if len(rungs) < 2 {
		return nil
	}
	rates := make([]int, len(rungs))
	for i, r := range rungs {
		rates[i] = r.BitrateBps
	}
	c, err := ladder.New(ladder.Config{Rates: rates}, 0)
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
		Congested: vo.est.Congested, FeedbackLoss: vo.est.FeedbackLoss}
	dec := vo.ctl.Update(at, sample)
	vo.target = dec.Rung
	if dec.Probing != (vo.padBps > 0) {
		r.log.Debug("ladder probe", "participant", p.id, "probing", dec.Probing, "rung", dec.Rung, "estimate", vo.est.EstimateBps, "congested", vo.est.Congested, "loss", vo.est.Loss)
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
	vo.view.Size = Rung{}
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
	var per [MaxRungs]int64
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
