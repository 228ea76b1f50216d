package transport

import (
	"time"

	"github.com/pion/rtcp"
)

const (
	// floodLoss is the loss within transport-wide feedback (about 100 ms
	// of it) that shows the link has dropped far under what we send: a
	// queue that merely grows loses nothing yet, and a probe that
	// overfills a link, stopped at its first signs, loses up to a third
	// (a cap then was seen to starve the lowest rung, frames dropped in
	// the pacer, on a link that carried it).
	floodLoss = 0.5
	// floodPackets is the fewest packets a flood is judged on: feedback
	// intervals are added up to it, as a low-rate stream's 100 ms holds a
	// handful of packets, and one or two lost of those is no flood.
	floodPackets = 24
	// floodHold is how long a cap from flooded feedback holds after the
	// last such feedback: long enough for the ladder to move to a rung
	// that fits (a sudden drop moves within a few hundred ms), short
	// enough that a link that recovers is not held down.
	floodHold = time.Second
	// padFeedbackLag is how long after probe padding the feedback may
	// still be about it: no flood is read from it meanwhile.
	padFeedbackLag = 500 * time.Millisecond
)

// feedbackLoss is the share of the packets one transport-wide feedback
// reports that did not arrive: the loss of that feedback interval alone,
// not the estimator's running average.
func feedbackLoss(p *rtcp.TransportLayerCC) (lost, total int) {
	forEachStatus(p, func(_, sym uint16) {
		total++
		if sym == rtcp.TypeTCCPacketNotReceived {
			lost++
		}
	})
	return lost, total
}

// delivery follows what transport-wide feedback says arrives: when the
// link suddenly carries much less than we send, most of each feedback
// interval is lost, a second before receiver reports say so and before
// the estimator's averages catch up. The rate that did arrive is then
// what the link carries.
type delivery struct {
	from        time.Time // when the packets counted so far began
	sent        uint64    // bytes sent by then
	lost, total int       // packets reported since
	capBps      int       // what arrived, while the feedback shows a flood
	capUntil    time.Time
}

// feedback takes one transport-wide feedback at now, with sent the bytes
// sent toward the receiver so far.
func (d *delivery) feedback(p *rtcp.TransportLayerCC, sent uint64, now time.Time) {
	lost, total := feedbackLoss(p)
	dt := now.Sub(d.from)
	if d.from.IsZero() || dt > time.Second || sent < d.sent {
		d.from, d.sent, d.lost, d.total = now, sent, 0, 0 // start over
		return
	}
	d.lost, d.total = d.lost+lost, d.total+total
	if d.total < floodPackets || dt <= 0 {
		return
	}
	loss := float64(d.lost) / float64(d.total)
	prevSent := d.sent
	d.from, d.sent, d.lost, d.total = now, sent, 0, 0
	if loss < floodLoss {
		return
	}
	arrived := int(float64(sent-prevSent) * 8 / dt.Seconds() * (1 - loss))
	if now.Before(d.capUntil) {
		// The flood goes on under the cap: the first measure, taken as
		// the queue filled, lost less than the link now does.
		arrived = min(arrived, d.capBps)
	}
	d.capBps, d.capUntil = max(arrived, minEstimate), now.Add(floodHold)
}

// restart forgets the packets counted so far: what follows starts a new
// count.
func (d *delivery) restart() { d.from = time.Time{} }

// limit is the rate the link was seen to deliver while flooded (0: no
// flood lately).
func (d *delivery) limit(now time.Time) int {
	if now.Before(d.capUntil) {
		return d.capBps
	}
	return 0
}
