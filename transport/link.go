package transport

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
)

const (
	// initialEstimate starts every receiver's send-side estimate high
	// enough for the top rung of the default ladder: a good link keeps the
	// full canvas from the first frame, a weak one is found within a second
	// or two of congestion.
	initialEstimate = 2_000_000
	minEstimate     = 30_000
	maxEstimate     = 20_000_000
	// feedbackFresh is how long transport-wide feedback, a REMB or a
	// receiver report counts after the last one arrived, toward a WebRTC
	// receiver (which reports about every second).
	feedbackFresh = 3 * time.Second
	// congestedLoss is the reported loss that counts as congestion.
	congestedLoss = 0.05
	// padInterval paces probe padding; maxPadding is the most one padding
	// packet carries (RTP padding lengths are one byte), minPadding the
	// least worth its headers; padOverhead is what a padding packet adds
	// on the wire around its padding: RTP header and extensions, SRTP's
	// tag, UDP and IPv4.
	padInterval = 20 * time.Millisecond
	maxPadding  = 255
	minPadding  = 32
	padOverhead = 12 + 16 + 10 + 28
	// padVideoIdle is how long after the last video packet the video
	// stream counts as idle for padding: the lowest rung's 15 fps leaves
	// every 67 ms.
	padVideoIdle = 250 * time.Millisecond
)

// newEstimator is each PeerConnection's send-side bandwidth estimator
// (Google congestion control on transport-wide feedback). Its pacer does
// nothing: our encoders already produce what the estimate allows, and a
// pacing queue would delay audio behind video.
func newEstimator() (cc.BandwidthEstimator, error) {
	return gcc.NewSendSideBWE(
		gcc.SendSideBWEInitialBitrate(initialEstimate),
		gcc.SendSideBWEMinBitrate(minEstimate),
		gcc.SendSideBWEMaxBitrate(maxEstimate),
		gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
	)
}

// linkMonitor gathers what we learn of the link toward the receiver: the
// send-side estimate, REMB, and receiver reports' loss and RTT.
type linkMonitor struct {
	bwe        cc.BandwidthEstimator // nil when the engine has none (tests, RTP legs)
	departures *sentLog              // when our packets left, by transport-wide number (nil likewise)
	// fresh is how long feedback counts after it arrived; 0 means
	// feedbackFresh.
	fresh time.Duration

	mu                   sync.Mutex
	twccAt               time.Time // last transport-wide feedback
	remb                 int
	rembAt               time.Time
	videoLoss, audioLoss float64
	videoAt, audioAt     time.Time // their last receiver reports
	rtt                  time.Duration
	flood                delivery
	// paddedAt is when probe padding last went out: feedback about a
	// probe's time was seen to show loss the media did not have (pion
	// receivers re-reporting after retransmissions that reused old
	// transport-wide numbers; see configureInterceptors).
	paddedAt time.Time
	// overuseAt is when the estimator last saw the path's queue growing.
	overuseAt time.Time
	queue     queueDelay
	// srs are our recent sender reports (middle 32 bits of their NTP
	// time, and when they left) to turn a report's LSR/DLSR into RTT.
	srs  [8]sentReport
	next int

	// sent counts payload and padding bytes written toward the receiver;
	// rates keeps recent (time, count) pairs for the sent rate.
	sent  atomic.Uint64
	rates [16]sentMark
	mark  int
}

type sentMark struct {
	at    time.Time
	bytes uint64
}

// sentRate is the bits per second sent over about the last second.
func (l *linkMonitor) sentRate(now time.Time) int {
	cur := sentMark{now, l.sent.Load()}
	l.rates[l.mark%len(l.rates)] = cur
	l.mark++
	// The oldest mark at least a second back, else the oldest kept.
	var from sentMark
	for i := 1; i < len(l.rates) && i < l.mark; i++ {
		m := l.rates[(l.mark-1-i)%len(l.rates)]
		from = m
		if now.Sub(m.at) >= time.Second {
			break
		}
	}
	if from.at.IsZero() || !now.After(from.at) {
		return 0
	}
	return int(float64(cur.bytes-from.bytes) * 8 / now.Sub(from.at).Seconds())
}

type sentReport struct {
	mid uint32
	at  time.Time
}

// sentReport records a sender report we sent at now.
func (l *linkMonitor) sentReport(ntp uint64, now time.Time) {
	l.mu.Lock()
	l.srs[l.next%len(l.srs)] = sentReport{mid: uint32(ntp >> 16), at: now}
	l.next++
	l.mu.Unlock()
}

// onRTCP takes the receiver's feedback about the streams audioSSRC and
// videoSSRC (0: not ours).
func (l *linkMonitor) onRTCP(pkts []rtcp.Packet, audioSSRC, videoSSRC uint32, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, pkt := range pkts {
		switch p := pkt.(type) {
		case *rtcp.TransportLayerCC:
			l.twccAt = now
			if l.departures != nil {
				l.queue.feedback(p, l.departures, now)
			}
			if l.overused() {
				l.overuseAt = now
			}
			switch {
			case now.Sub(l.paddedAt) < padFeedbackLag:
				l.flood.restart() // about a probe: its loss may be padding left out
			case now.Sub(l.overuseAt) > floodHold:
				// A link that drops under what we send fills its queue
				// first: feedback that shows loss without queueing was
				// seen on links with room (pion receivers leaving packets
				// out of it), and must not throttle anything.
				l.flood.restart()
			default:
				l.flood.feedback(p, l.sent.Load(), now)
			}
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			// A REMB carries up to 2^81 b/s, which int() turns negative:
			// cap it as the estimator's own estimate is capped.
			l.remb, l.rembAt = int(min(p.Bitrate, maxEstimate)), now
		case *rtcp.ReceiverReport:
			l.reports(p.Reports, audioSSRC, videoSSRC, now)
		case *rtcp.SenderReport:
			l.reports(p.Reports, audioSSRC, videoSSRC, now)
		}
	}
}

func (l *linkMonitor) reports(rs []rtcp.ReceptionReport, audioSSRC, videoSSRC uint32, now time.Time) {
	for _, r := range rs {
		loss := float64(r.FractionLost) / 256
		switch {
		case r.SSRC == 0:
			continue
		case r.SSRC == audioSSRC:
			l.audioLoss, l.audioAt = loss, now
		case r.SSRC == videoSSRC:
			l.videoLoss, l.videoAt = loss, now
		default:
			continue
		}
		if r.LastSenderReport == 0 {
			continue
		}
		for _, sr := range l.srs {
			if sr.mid == r.LastSenderReport && !sr.at.IsZero() {
				dlsr := time.Duration(float64(r.Delay) / 65536 * float64(time.Second))
				if rtt := now.Sub(sr.at) - dlsr; rtt >= 0 {
					l.rtt = rtt
				}
				break
			}
		}
	}
}

// overused reports whether the estimator sees the path's queue growing.
func (l *linkMonitor) overused() bool {
	if l.bwe == nil {
		return false
	}
	usage, _ := l.bwe.GetStats()["usage"].(string)
	return usage == "overuse"
}

// floodLimit is what the link was seen to deliver while transport-wide
// feedback showed most of what we send lost (0: no such flood lately):
// the pacer holds to it until the ladder has moved to a rung that fits.
func (l *linkMonitor) floodLimit(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.floodLimitLocked(now)
}

func (l *linkMonitor) floodLimitLocked(now time.Time) int {
	if now.Sub(l.paddedAt) < padFeedbackLag {
		return 0
	}
	return l.flood.limit(now)
}

// padded records that probe padding went out at now.
func (l *linkMonitor) padded(now time.Time) {
	l.mu.Lock()
	l.paddedAt = now
	l.mu.Unlock()
}

// estimate is the fresh bandwidth estimate at now, 0 without one: what
// the pacer paces by.
func (l *linkMonitor) estimate(now time.Time) int {
	l.mu.Lock()
	twcc, remb := l.freshLocked(l.twccAt, now), l.freshLocked(l.rembAt, now)
	rembBps := l.remb
	l.mu.Unlock()
	switch {
	case twcc && l.bwe != nil:
		return l.bwe.GetTargetBitrate()
	case remb:
		return rembBps
	}
	return 0
}

// audioLossAbove reports whether the receiver's fresh reports about our
// audio show more than loss lost.
func (l *linkMonitor) audioLossAbove(loss float64, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.freshLocked(l.audioAt, now) && l.audioLoss > loss
}

// freshLocked reports whether feedback that arrived at at still counts at
// now.
func (l *linkMonitor) freshLocked(at, now time.Time) bool {
	window := l.fresh
	if window == 0 {
		window = feedbackFresh
	}
	return !at.IsZero() && now.Sub(at) < window
}

// sample is the link as known at now. Loss is the worse of the two
// streams' fresh receiver reports, not the estimator's own loss average:
// each report counts exactly the interval since the previous one, while
// the transport-wide view was seen to hold 20–40 % loss for seconds after
// a link had recovered (and the receiver reported none), which kept a
// paused receiver from ever probing its way back.
func (l *linkMonitor) sample(now time.Time) media.LinkSample {
	l.mu.Lock()
	fresh := func(at time.Time) bool { return l.freshLocked(at, now) }
	s := media.LinkSample{RTT: l.rtt, SentBps: l.sentRate(now)}
	if fresh(l.audioAt) {
		s.AudioLoss, s.AudioReported = l.audioLoss, true
	}
	if fresh(l.videoAt) {
		s.Loss = l.videoLoss
	}
	s.Loss = max(s.Loss, s.AudioLoss)
	twcc := fresh(l.twccAt)
	remb := fresh(l.rembAt)
	rembBps := l.remb
	s.DeliveredBps = l.floodLimitLocked(now)
	if fresh(l.queue.at) {
		s.QueueDelay = l.queue.queue
	}
	l.mu.Unlock()
	s.Congested = s.Loss > congestedLoss
	switch {
	case twcc && l.bwe != nil:
		s.Source, s.EstimateBps = "twcc", l.bwe.GetTargetBitrate()
		st := l.bwe.GetStats()
		usage, _ := st["usage"].(string)
		s.Congested = s.Congested || usage == "overuse"
		s.FeedbackLoss, _ = st["averageLoss"].(float64)
	case remb:
		s.Source, s.EstimateBps = "remb", rembBps
	}
	return s
}
