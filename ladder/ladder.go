// Package ladder decides, for one receiver, which rung of a bitrate ladder
// it should get from its link estimate: down at once, to the rung that
// fits, on a sudden drop or heavy loss, after a second on a small
// shortfall; up only after probes (small while the estimate shows no spare
// room) have shown the link carries the next rung. It is pure: time is passed in, and it neither measures nor
// sends anything itself.
package ladder

import (
	"errors"
	"fmt"
	"time"
)

// Paused is the rung of a receiver whose link cannot carry the lowest
// rung: it gets audio only.
const Paused = -1

const (
	// probeKeepEst is the share of its starting estimate the estimator
	// must still give a probe's link at its end for the probe to count
	// as clean (for a receiver that gets video), as it must while the
	// probe runs. Behind a full 300 kb/s link it was seen to fall to 43
	// and 68 % of it, and the next probe, twice as large, to lose 10 to
	// 27 % of the media; on an open link it dips to 92 % at times, which
	// must not fail a probe (the climb then took 24 s at 97 %).
	probeKeepEst = 0.85
	// probeLossRise is the rise in receiver-reported loss over where it
	// stood when a probe began that ends the probe at once.
	probeLossRise = 0.01
	// probeQueueRise is the growth of the bottleneck's queue over where it
	// stood when a probe began that ends the probe at once: a probe that
	// fits a link queues nothing, while one that overfilled a full
	// 300 kb/s link by 2 % had queued 12 ms by its end and passed for
	// clean, and the next, twice as large, dropped media (a 50 ms queue
	// holds 1.9 KB at that rate).
	probeQueueRise = 8 * time.Millisecond
	// probeQueueClean is the most the queue may have grown by a probe's
	// end for the probe to show room (loopback's noise is ~0.2 ms).
	probeQueueClean = 2 * time.Millisecond
	// probeSettle is how long a quick probe is judged after its padding
	// stops: transport-wide feedback (every 100 ms) on its last packets
	// comes after it, and is read at the next update. A 375 ms probe
	// judged as its padding stopped was seen to pass as clean at twice
	// what a 300 kb/s link carries, its queue of 36 ms showing 100 ms
	// later. (Judging blind probes so too took the climb back to the top
	// rung over 6 s in 3 of 6 runs, against 0 of 6.)
	probeSettle = 200 * time.Millisecond
)

// ErrBadConfig reports an unusable Config.
var ErrBadConfig = errors.New("ladder: bad config")

// Config describes the ladder and how eagerly to move on it.
type Config struct {
	// Rates are the rungs' video bitrates in bits/s, top rung first,
	// strictly decreasing.
	Rates []int
	// ReserveBps is kept for the audio (default 40 kb/s, our Opus rate).
	// Estimators count media payload, so packet overhead is left to
	// Headroom.
	ReserveBps int
	// Headroom is the share of the estimate the media may fill (default
	// 0.85): estimates wobble, and a full queue delays audio too.
	Headroom float64
	// DownAfter is how long the estimate must stay short of the current
	// rung, or the loss above MaxLoss, before moving down (default 1 s).
	DownAfter time.Duration
	// PauseAfter is how long the estimate must stay short of the lowest
	// rung before video pauses (default 3 s): a new receiver's estimate
	// overshoots downward while the first queue drains, and pausing costs
	// a keyframe to resume. A link that carries less than half the lowest
	// rung, with loss, pauses after DownAfter: audio shares that link.
	PauseAfter time.Duration
	// SuddenDrop is the share of what holds the current rung below which
	// an estimate, with loss, counts as a sudden drop (default 0.7): the
	// receiver moves at once, straight to the rung that fits, not after
	// DownAfter nor one rung at a time.
	SuddenDrop float64
	// UpAfter is how long the estimate must carry the next rung up before
	// probing it (default 2 s).
	UpAfter time.Duration
	// ProbeFor is how long a probe ramps padding up to its size; it then
	// holds it for a quarter as long (default 600 ms: transport-wide
	// feedback, every 100 ms, shows the bottleneck's queue growing well
	// within it; 1 s, from when receiver reports were the probes' only
	// sign, left the climb back to the top rung behind a lifted 300 kb/s
	// link within 6 s in 10 of 15 runs, 600 ms in 11 of 12, without
	// losing more video in the hold). A probe that follows a clean one on
	// a receiver that gets video takes half as long: the link has just
	// shown room.
	ProbeFor time.Duration
	// PausedProbeFor is ProbeFor for a paused receiver (default 1 s, as
	// before ProbeFor shortened). Its probe is padding alone in front of
	// its audio: ramped over 600 ms, one that overfilled a 60 kb/s link
	// held the audio back 88 ms before the queue showed (1 run in 6).
	// How soon video resumes after the link recovers is spread by the
	// back-off after a failed probe more than by the ramp: 2–10 s at
	// 600 ms, 3–14 s at 1 s, 6–16 s at 1.2 s (6 runs each).
	PausedProbeFor time.Duration
	// BlindProbe caps a probe's padding, as a share of the estimate,
	// while the estimate does not show room for the next rung (default
	// 0.25): a probe into a full link then overfills it by so little that
	// it is seen queueing before the bottleneck drops media (at half the
	// estimate, probes every few seconds on a full 300 kb/s link were seen
	// to cost 1–8 % of its video). A clean
	// blind probe raises the capacity known by its padding; the next one
	// follows at once, twice as large (up to twice the estimate), as the
	// link has shown room, and a probe that shows room for several rungs
	// climbs them at once; a failed one starts over from BlindProbe. A
	// paused receiver grows its probes by half only, up to the estimate:
	// all it has on the link is its audio.
	BlindProbe float64
	// ProbeEvery is the first wait between probes while the estimate does
	// not show spare capacity; it doubles after each failed probe up to
	// MaxProbeEvery (defaults 2 s and 3 s: a link that recovers is found
	// within seconds, and a failing probe, ramped from little and stopped
	// at the first signs of queueing, costs a fraction of a second of it).
	ProbeEvery, MaxProbeEvery time.Duration
	// MaxLoss is the loss fraction that counts as congestion (default 0.1).
	MaxLoss float64
}

func (c Config) withDefaults() Config {
	if c.ReserveBps == 0 {
		c.ReserveBps = 40_000
	}
	if c.Headroom == 0 {
		c.Headroom = 0.85
	}
	if c.DownAfter == 0 {
		c.DownAfter = time.Second
	}
	if c.PauseAfter == 0 {
		c.PauseAfter = 3 * time.Second
	}
	if c.SuddenDrop == 0 {
		c.SuddenDrop = 0.7
	}
	if c.BlindProbe == 0 {
		c.BlindProbe = 0.25
	}
	if c.UpAfter == 0 {
		c.UpAfter = 2 * time.Second
	}
	if c.ProbeFor == 0 {
		c.ProbeFor = 600 * time.Millisecond
	}
	if c.PausedProbeFor == 0 {
		c.PausedProbeFor = time.Second
	}
	if c.ProbeEvery == 0 {
		c.ProbeEvery = 2 * time.Second
	}
	if c.MaxProbeEvery == 0 {
		c.MaxProbeEvery = 3 * time.Second
	}
	if c.MaxLoss == 0 {
		c.MaxLoss = 0.1
	}
	return c
}

// Validate checks the rates and tunables.
func (c Config) Validate() error {
	if len(c.Rates) == 0 {
		return fmt.Errorf("%w: no rungs", ErrBadConfig)
	}
	for i, r := range c.Rates {
		if r <= 0 || (i > 0 && r >= c.Rates[i-1]) {
			return fmt.Errorf("%w: rates %v must be positive and decreasing", ErrBadConfig, c.Rates)
		}
	}
	if c.ReserveBps < 0 || c.Headroom < 0 || c.Headroom > 1 || c.MaxLoss < 0 || c.MaxLoss > 1 ||
		c.SuddenDrop < 0 || c.SuddenDrop > 1 || c.BlindProbe < 0 {
		return fmt.Errorf("%w: reserve, headroom or loss out of range", ErrBadConfig)
	}
	return nil
}

// Sample is what the transport knows of the receiver's link now.
type Sample struct {
	// EstimateBps is the bandwidth estimate (0: none yet, nothing moves).
	EstimateBps int
	// Loss is the recently reported loss fraction, 0 to 1.
	Loss float64
	// SentBps is what was sent toward the receiver over the last second
	// (media and padding). Flowing without congestion it shows capacity
	// the estimator may not have caught up with yet.
	SentBps int
	// Congested is set while the estimator sees queues growing (delay
	// overuse) or loss: a probe stops at once.
	Congested bool
	// FeedbackLoss is the loss seen in transport-wide feedback. It comes
	// every 100 ms, a second before receiver reports show the same loss,
	// but it was seen to stay at 20–40 % for seconds after a link had
	// recovered: only its rise during a probe counts.
	FeedbackLoss float64
	// ContentLimited is set when the sender had less to send than the
	// rung's rate (a canvas that barely changed costs few bits): an
	// estimator only learns what is sent, so a low estimate then says
	// nothing about the link, and without congestion or loss the receiver
	// is not moved down for it.
	ContentLimited bool
	// DeliveredBps is what arrived while transport-wide feedback showed
	// most of what was sent lost (0: no such flood lately): the link has
	// dropped under the rung, and this is what it carries.
	DeliveredBps int
	// QueueDelay is how long the receiver's packets wait at the
	// bottleneck now, from transport-wide feedback (0: none, or unknown).
	QueueDelay time.Duration
}

// Decision is where the receiver should be.
type Decision struct {
	// Rung is the rung it should receive (Paused: audio only).
	Rung int
	// PadBps is the padding to send on top of its media while a probe runs
	// (0 otherwise).
	PadBps int
	// Probing reports a probe in progress toward Rung-1 (or the lowest rung
	// from Paused).
	Probing bool
}

// Controller is one receiver's position on the ladder. It is not safe for
// concurrent use.
type Controller struct {
	cfg Config
	// idx is the rung as an index where len(Rates) means paused, so a
	// larger index is always a lower quality.
	idx int

	downSince, lossSince, upSince time.Time
	severeSince                   time.Time // the link carries less than half the lowest rung, with loss
	blindShare                    float64   // the next blind probe's share of the estimate
	clearSince                    time.Time // the receiver has reported no loss since
	probing                       bool
	quick                         bool // the probe follows a clean one: it takes half as long
	settling                      bool // its padding has stopped: it waits for the feedback on it
	probeStart                    time.Time
	probeEst                      int           // the estimate when the probe began
	probeFrom                     int           // and the effective estimate
	probePad                      int           // the padding the probe ramps to
	probeFill                     int           // and what tops the media up to the effective estimate
	probeLoss                     float64       // and the feedback loss
	probeRRLoss                   float64       // and the receiver-reported loss
	probeSent                     int           // and what was being sent
	probeQueue                    time.Duration // and the queue at the bottleneck
	probeBad                      int           // updates in a row with signs of a full link
	wait                          time.Duration // current wait before a probe
	nextProbe                     time.Time
	// floorBps is the capacity a successful probe showed; it stands in for
	// a lagging estimate until the link shows congestion again.
	floorBps int
	// graceUntil: a failed probe congested the link itself, and the
	// estimate dips for it; the receiver holds its rung meanwhile.
	graceUntil time.Time
	climbed    bool // the last move was a climb
	congested  int  // updates in a row the estimator saw queueing
	sudden     int  // updates in a row that showed a sudden drop
}

// New returns a controller starting on rung start (0 is the top).
func New(cfg Config, start int) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Controller{cfg: cfg, wait: cfg.ProbeEvery, blindShare: cfg.BlindProbe}
	c.idx = c.fromRung(start)
	return c, nil
}

func (c *Controller) fromRung(r int) int {
	if r < 0 || r >= len(c.cfg.Rates) {
		return len(c.cfg.Rates)
	}
	return r
}

func (c *Controller) toRung(idx int) int {
	if idx >= len(c.cfg.Rates) {
		return Paused
	}
	return idx
}

// Rung is the current decision's rung.
func (c *Controller) Rung() int { return c.toRung(c.idx) }

// need is the estimate rung idx needs, reserve and headroom included.
func (c *Controller) need(idx int) int {
	if idx >= len(c.cfg.Rates) {
		return 0
	}
	return int(float64(c.cfg.Rates[idx]+c.cfg.ReserveBps) / c.cfg.Headroom)
}

// holds reports whether est still carries rung idx without the headroom a
// climb needs: the gap between the two is the ladder's hysteresis.
func (c *Controller) holds(idx, est int) bool { return est >= c.holdBps(idx) }

// holdBps is the least estimate that holds rung idx. The lowest rung
// holds down to three quarters of its rate: below it the only way down is
// pausing video, which is for links that cannot carry video at all, not
// for some loss.
func (c *Controller) holdBps(idx int) int {
	switch {
	case idx >= len(c.cfg.Rates):
		return 0
	case idx == len(c.cfg.Rates)-1:
		return (c.cfg.Rates[idx] + c.cfg.ReserveBps) * 3 / 4
	}
	return c.cfg.Rates[idx] + c.cfg.ReserveBps
}

// best is the highest rung (lowest index) est carries with headroom.
func (c *Controller) best(est int) int {
	for i := range c.cfg.Rates {
		if est >= c.need(i) {
			return i
		}
	}
	return len(c.cfg.Rates)
}

// Effective is the estimate the controller works with: the transport's,
// raised to what the last successful probe showed and, while nothing is
// congested, to what is flowing (with headroom: a rung that flows cleanly
// is carried).
func (c *Controller) Effective(s Sample) int {
	est := max(s.EstimateBps, c.floorBps)
	if !s.Congested && s.Loss <= c.cfg.MaxLoss/2 {
		est = max(est, int(float64(s.SentBps)/c.cfg.Headroom))
	}
	return est
}

// Update takes the link's state at now and returns the decision.
func (c *Controller) Update(now time.Time, s Sample) Decision {
	if s.EstimateBps <= 0 {
		return Decision{Rung: c.Rung()}
	}
	if s.Congested {
		c.congested++
	} else {
		c.congested = 0
	}
	if c.congested >= 2 || s.Loss > c.cfg.MaxLoss {
		// The link is full: what a probe showed no longer holds. (A lone
		// overuse sample is not enough: a stalled sender, not the link,
		// was seen to cause one.)
		c.floorBps = 0
	}
	c.clearSince = since(c.clearSince, s.Loss <= c.cfg.MaxLoss/2, now)
	est := c.Effective(s)
	best := c.best(est)

	// Down: the estimate no longer carries this rung, or loss stays high.
	short := !c.holds(c.idx, est) && !now.Before(c.graceUntil) &&
		!(s.ContentLimited && !s.Congested && s.Loss <= c.cfg.MaxLoss/2)
	lossy := s.Loss > c.cfg.MaxLoss && c.idx < len(c.cfg.Rates)
	c.downSince = since(c.downSince, short, now)
	c.lossSince = since(c.lossSince, lossy, now)
	if c.probing && c.probeFailing(s, est) {
		c.failProbe(now)
	}
	lowest := len(c.cfg.Rates) - 1
	// A sudden drop of the estimate, or heavy loss, moves at once to the
	// rung that fits (what got through, for loss); pausing still waits
	// for PauseAfter.
	if to := c.suddenTarget(s, est, short, lossy); to > c.idx {
		c.probing = false
		c.move(to)
		return Decision{Rung: c.Rung()}
	}
	losing := s.Loss > c.cfg.MaxLoss/2 || s.FeedbackLoss > c.cfg.MaxLoss/2
	c.severeSince = since(c.severeSince, short && losing && est < c.holdBps(lowest)/2, now)
	switch {
	case c.idx == lowest && !c.severeSince.IsZero() && now.Sub(c.severeSince) >= c.cfg.DownAfter:
		// Far below the lowest rung: video only costs the audio.
		c.move(lowest + 1)
		return Decision{Rung: c.Rung()}
	case short && best <= c.idx:
		// Short of holding this rung, yet too close to move: wait.
		return Decision{Rung: c.Rung()}
	case short && best > lowest && c.idx < lowest && now.Sub(c.downSince) >= c.cfg.DownAfter:
		// Down to the lowest rung first; pausing takes longer.
		c.move(lowest)
		return Decision{Rung: c.Rung()}
	case short && best > lowest && now.Sub(c.downSince) >= c.cfg.PauseAfter:
		c.move(best)
		return Decision{Rung: c.Rung()}
	case short && best <= lowest && now.Sub(c.downSince) >= c.cfg.DownAfter:
		c.move(best)
		return Decision{Rung: c.Rung()}
	case lossy && c.idx < lowest && now.Sub(c.lossSince) >= c.cfg.DownAfter,
		lossy && now.Sub(c.lossSince) >= c.cfg.PauseAfter:
		c.move(c.idx + 1)
		return Decision{Rung: c.Rung()}
	case short || lossy:
		return Decision{Rung: c.Rung()}
	}

	if c.probing {
		return c.probe(now, est, s)
	}
	if c.idx == 0 {
		return Decision{Rung: c.Rung()}
	}
	// Up: when the estimate already carries the next rung, confirm it
	// with a probe after UpAfter; when it does not (an estimator only
	// learns of capacity that is used), probe every c.wait anyway.
	c.upSince = since(c.upSince, best < c.idx, now)
	ready := !c.upSince.IsZero() && now.Sub(c.upSince) >= c.cfg.UpAfter
	if c.nextProbe.IsZero() {
		c.nextProbe = now.Add(c.wait)
		if c.climbed {
			// Right after a climb the link has just shown spare
			// capacity: look for more soon (200 ms: at 500 ms, with
			// each probe judged 200 ms after its padding stops, the
			// climb back to the top took over 6 s in 2 of 6 runs).
			c.nextProbe, c.climbed = now.Add(200*time.Millisecond), false
		}
	}
	// A probe into a link that is queueing, or losing or has just been
	// (its queue may not have drained), would only fail, costing loss and
	// backing the next probe off: wait until the receiver's reports have
	// been clean for a second. (The estimator's overuse flickers on and
	// off on a full link, so only its present state counts.)
	clear := !s.Congested && !c.clearSince.IsZero() && now.Sub(c.clearSince) >= time.Second
	if clear && (ready || !now.Before(c.nextProbe)) {
		c.quick = c.quick && c.idx < len(c.cfg.Rates)
		est0, sent0, queue0 := s.EstimateBps, s.SentBps, s.QueueDelay
		if c.quick {
			// The estimator answers a probe a few hundred ms late: one
			// that backs off after a clean probe ended ends the next
			// one, which follows at once, within two updates (it was
			// seen to fall by a third there, and the probe, judged by
			// the lower figure, to run on into a quarter's loss). And
			// the sent rate, a second's average, still holds the last
			// probe's padding: whether this one's went out is judged
			// against what went out before that one (else a clean
			// probe was taken for one that sent nothing, and the climb
			// waited 2 s).
			// Likewise the queue that one may have begun.
			est0, sent0, queue0 = max(est0, c.probeEst), min(sent0, c.probeSent), min(queue0, c.probeQueue)
		}
		c.probing, c.settling, c.probeStart, c.probeEst, c.probeLoss, c.probeBad = true, false, now, est0, s.FeedbackLoss, 0
		c.probeRRLoss, c.probeQueue = s.Loss, queue0
		c.probeFrom, c.probePad, c.probeSent = est, c.extra(), sent0
		paused := c.idx >= len(c.cfg.Rates)
		if paused && s.SentBps > 0 {
			// Audio is all a paused receiver has on the link, and on a
			// narrow link the estimate was seen to read twice what it
			// carries: it probes from what the link has been seen to
			// carry, never by the estimate alone.
			c.probeFrom = max(s.SentBps, c.floorBps)
		}
		c.probeFill = 0
		if !ready || paused {
			c.probePad = min(c.probePad, int(c.blindShare*float64(c.probeFrom)))
			// A clean blind probe raises the floor to the effective
			// estimate plus its share, so it puts that on the link,
			// topping up what the media leaves of the estimate: else a
			// rung's traffic plus a small share went out, the floor rose
			// by the share, and blind probes ratcheted a receiver behind
			// a full 300 kb/s link up to a 500 kb/s rung on probes that
			// never put more than 250 kb/s on it. A paused receiver
			// probes from what flows already (its audio).
			if s.SentBps > 0 && !paused {
				c.probeFill = max(0, c.probeFrom-s.SentBps)
			}
		}
		return c.probe(now, est, s)
	}
	return Decision{Rung: c.Rung()}
}

// suddenTarget is the rung index to move to at once on a sudden
// estimate drop or heavy loss; c.idx when there is none. It goes no lower
// than the lowest rung: pausing waits for PauseAfter.
func (c *Controller) suddenTarget(s Sample, est int, short, lossy bool) int {
	lowest := len(c.cfg.Rates) - 1
	if c.idx >= lowest {
		return c.idx
	}
	to := c.idx
	// The estimate also dips, with some loss, when the sender stalls (a
	// loaded machine delays its own packets, or its receiver's, and the
	// feedback): only a drop the link confirms with heavy loss over three
	// updates in a row (300 ms) is sudden; a drop without it waits
	// DownAfter. (A link that drops below the rung sent loses most of it.)
	losing := s.Loss > c.cfg.MaxLoss || s.FeedbackLoss > 2*c.cfg.MaxLoss
	if short && losing && float64(est) < c.cfg.SuddenDrop*float64(c.holdBps(c.idx)) {
		to = c.best(est)
	}
	if lossy && s.Loss >= 2*c.cfg.MaxLoss && s.SentBps > 0 {
		to = max(to, c.idx+1, c.best(int(float64(s.SentBps)*(1-s.Loss))))
	}
	// A flood (most of a feedback interval lost) is the link's own word,
	// a second before receiver reports: two updates in a row suffice.
	confirm := 3
	if s.DeliveredBps > 0 && !c.holds(c.idx, s.DeliveredBps) {
		to, confirm = max(to, c.best(s.DeliveredBps)), 2
	}
	if to == c.idx {
		c.sudden = 0
		return c.idx
	}
	if c.sudden++; c.sudden < confirm {
		return c.idx
	}
	return min(to, lowest)
}

// since tracks when a condition became true: zero while it is false.
func since(t time.Time, cond bool, now time.Time) time.Time {
	switch {
	case !cond:
		return time.Time{}
	case t.IsZero():
		return now
	}
	return t
}

// extra is the rate the next rung up adds to the current one.
func (c *Controller) extra() int {
	extra := c.cfg.Rates[c.idx-1]
	if c.idx < len(c.cfg.Rates) {
		extra -= c.cfg.Rates[c.idx]
	}
	return extra
}

// probe ramps padding toward its size; once it has held it without
// congestion, the capacity it showed stands in for the estimate, and the
// receiver climbs if that carries the next rung, or probes again at once
// (from higher) if it does not.
func (c *Controller) probe(now time.Time, est int, s Sample) Decision {
	target := c.idx - 1
	el := now.Sub(c.probeStart)
	ramp, settle := c.cfg.ProbeFor, time.Duration(0)
	switch {
	case c.quick:
		// A quick probe is over before the feedback on its peak comes;
		// a longer one holds its peak long enough for most of it.
		ramp, settle = ramp/2, probeSettle
	case c.idx >= len(c.cfg.Rates):
		ramp = c.cfg.PausedProbeFor
	}
	hold := ramp + ramp/4
	if el >= hold && !c.settling {
		// The padding stops: whether it went out is judged now, while
		// the sent rate still holds it.
		c.settling = true
		if sent := s.SentBps; sent > 0 && sent < c.probeSent+c.probePad/8 {
			// The padding did not go out (it waits for the video queue
			// to empty, and a full link keeps it busy): the probe
			// showed nothing. (The sent rate covers a second, of which
			// a quick probe pads about a third on average: an eighth
			// is the padding clearly missing, not a lagging measure.)
			c.probing = false
			c.nextProbe = now.Add(c.wait)
			return Decision{Rung: c.Rung()}
		}
	}
	if c.settling && el < hold+settle {
		// The feedback on the padding's last packets is yet to come.
		return Decision{Rung: c.Rung(), Probing: true}
	}
	if c.settling {
		c.probing = false
		if c.idx < len(c.cfg.Rates) && float64(s.EstimateBps) < probeKeepEst*float64(c.probeEst) {
			// The estimator backed off while the probe ran: the link
			// did not carry it, though no loss showed yet (a shallow
			// queue absorbs a probe's first second; the next probe,
			// twice as large, was seen to lose a tenth to a quarter
			// of the media behind a full 300 kb/s link). It failed.
			c.failProbe(now)
			return Decision{Rung: c.Rung()}
		}
		if s.QueueDelay > c.probeQueue+probeQueueClean {
			// Nothing lost, but the bottleneck began to queue: the link
			// is about full. Behind a full 300 kb/s link such probes
			// were followed at once by one twice as large that
			// overfilled it within a feedback interval and dropped
			// media; on an open link the queue does not move. The
			// probe showed no room: the next waits and starts small.
			c.quick, c.blindShare = false, c.cfg.BlindProbe
			c.nextProbe = now.Add(c.wait)
			return Decision{Rung: c.Rung()}
		}
		c.wait = c.cfg.ProbeEvery
		c.quick = true // the next probe follows a clean one
		c.floorBps = max(c.floorBps, c.probeFrom+c.probePad)
		if c.idx < len(c.cfg.Rates) {
			c.floorBps = max(c.floorBps, est)
		}
		if c.probePad < c.extra() {
			if c.idx < len(c.cfg.Rates) {
				c.blindShare = min(2*c.blindShare, 2)
			} else {
				// A paused receiver's link is narrow, and all it has
				// at stake is its audio: it keeps its steps small.
				c.blindShare = min(1.5*c.blindShare, 1)
			}
			if c.best(c.floorBps) > target {
				c.nextProbe = now
				return Decision{Rung: c.Rung()}
			}
		}
		c.floorBps = max(c.floorBps, c.need(target))
		c.move(min(target, c.best(c.floorBps)))
		c.climbed = true
		return Decision{Rung: c.Rung()}
	}
	pad := c.probePad + c.probeFill
	if el < ramp {
		pad = int(float64(pad) * float64(el) / float64(ramp))
	}
	return Decision{Rung: c.Rung(), PadBps: pad, Probing: true}
}

// probeFailing reports signs that the probe has filled the link. Loss in
// the receiver's reports ends it at once. The estimator's signs come a
// second sooner but are noisier, so they must hold for two updates in a
// row (a lone overuse sample, or one feedback with 6 % loss, was seen to
// end probes on links with room to spare): queues growing, the estimate
// backing off, or the loss in transport-wide feedback rising clearly
// over where it stood when the probe began (it was seen to stay at
// 20–40 % for seconds after a link had recovered). A steep rise of that
// loss ends the probe at once.
func (c *Controller) probeFailing(s Sample, est int) bool {
	base := 1.5 * c.probeLoss
	// A paused receiver's padding is most of what it is sent, and its
	// transport-wide feedback was seen to show a third of the packets
	// "lost" on an open link (pion receivers re-reporting after our
	// retransmissions reused old transport-wide numbers, fixed since;
	// other receivers may misreport too): its probes go by the receiver
	// reports and queueing.
	fbLoss, backOff := s.FeedbackLoss, float64(s.EstimateBps) < probeKeepEst*float64(c.probeEst)
	if c.idx >= len(c.cfg.Rates) {
		// (Nor by the estimate backing off: the estimator reads those
		// padding packets as lost, and was seen to cut its estimate to
		// a fifth on an open link.)
		fbLoss, backOff = 0, false
		if s.Congested {
			// Its audio is all it has on the link: the first sign of
			// queueing ends the probe before the queue drops it.
			return true
		}
	}
	// Receiver reports are the link's own count: loss that rises by a
	// point while the probe runs ends it at once (a probe that ended
	// with 1.95 % reported was seen followed by one that lost 27 %).
	// So does the bottleneck's queue growing: the first sign of a full
	// link, before anything is dropped.
	if !c.holds(c.idx, est) || s.Loss > min(c.cfg.MaxLoss/2, c.probeRRLoss+probeLossRise) || fbLoss > base+1.5*c.cfg.MaxLoss ||
		s.QueueDelay > c.probeQueue+probeQueueRise {
		return true
	}
	if s.Congested || fbLoss > base+c.cfg.MaxLoss/2 || backOff {
		c.probeBad++
	} else {
		c.probeBad = 0
	}
	return c.probeBad >= 2
}

func (c *Controller) failProbe(now time.Time) {
	c.probing, c.quick = false, false
	c.blindShare = c.cfg.BlindProbe
	c.graceUntil = now.Add(c.cfg.DownAfter + c.cfg.DownAfter/2)
	// Failed probes cost the media on the link some loss (a paused
	// receiver's audio, too): space them out.
	c.wait = min(2*c.wait, c.cfg.MaxProbeEvery)
	if c.idx >= len(c.cfg.Rates) {
		// A paused receiver's failed probe cost its audio: it waits
		// twice as long.
		c.wait = min(2*c.wait, 2*c.cfg.MaxProbeEvery)
	}
	c.nextProbe = now.Add(c.wait)
}

// move goes to rung index idx and restarts the timers.
func (c *Controller) move(idx int) {
	if idx > c.idx {
		// Down: the link has less room than it showed.
		c.blindShare, c.quick = c.cfg.BlindProbe, false
	}
	c.idx = min(idx, len(c.cfg.Rates))
	c.downSince, c.lossSince, c.upSince, c.severeSince = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	c.nextProbe, c.sudden = time.Time{}, 0
}
