package media

import "time"

// LinkSample is what the transport knows, now, of the link toward one
// receiver: the room's ladder follows it.
type LinkSample struct {
	// EstimateBps is the bandwidth estimate (0: none yet).
	EstimateBps int
	// Source names the estimate: "twcc" (send-side congestion control on
	// transport-wide feedback), "remb" (the receiver's own estimate), or
	// "" when there is none.
	Source string
	// Loss is the recent loss fraction of what we send it (0 to 1): the
	// worse of our audio and video streams' receiver reports. AudioLoss is
	// that of the audio stream alone.
	Loss, AudioLoss float64
	// AudioReported is set when AudioLoss comes from a fresh receiver
	// report; without one the loss toward this receiver is unknown, not 0.
	AudioReported bool
	// FeedbackLoss is the loss in transport-wide feedback (send-side
	// estimation only): quick, but seen to stay high for seconds after a
	// link recovers, so Loss does not use it.
	FeedbackLoss float64
	// SentBps is what we sent it over the last second: media payload and
	// probe padding. Flowing without congestion, it is capacity shown.
	SentBps int
	// Congested is set while the estimator sees the path's queue growing.
	Congested bool
	// DeliveredBps is what arrived while transport-wide feedback showed
	// most of what was sent lost (a sudden drop of the link), for a
	// second after; 0 otherwise.
	DeliveredBps int
	// RTT is the round-trip time from receiver reports (0: unknown).
	RTT time.Duration
	// QueueDelay is how much longer than the fastest of the last seconds
	// our packets in the latest transport-wide feedback took to arrive:
	// the queue at the bottleneck (send-side estimation only).
	QueueDelay time.Duration
}
