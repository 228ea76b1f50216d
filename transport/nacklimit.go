package transport

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const (
	// nackShare is the retransmissions each packet we send earns: NACKs
	// may have at most a tenth of our packets resent.
	nackShare = 0.1
	// nackBurst bounds the retransmissions saved up.
	nackBurst = 30
)

// nackLimiterFactory makes one nackLimiter per PeerConnection. It must be
// registered before the NACK responder, so the responder only sees the NACKs
// the limiter lets through.
type nackLimiterFactory struct{}

func (nackLimiterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackLimiter{streams: map[uint32]*nackStream{}}, nil
}

// nackLimiter caps the packets a receiver's NACKs may have resent. pion's
// responder resends whatever is asked; a receiver behind a congested link
// NACKs what the congestion dropped, and resending all of it floods that
// link further (seen: 2400 packets/s of retransmissions on a 300 kb/s link).
// Each packet sent on a stream earns nackShare of a retransmission on that
// stream; NACKed sequence numbers beyond the saved-up budget are dropped
// from the NACK. The budget is per stream: small audio packets must not
// buy retransmissions of full-size video packets (seen: a paused video
// stream, whose receiver still asked for what it lost before the pause,
// resent 5 packets/s of video on audio's earnings and filled a 60 kb/s
// link).
//
// What cannot help is not resent at all: pion receivers NACK a lost packet again
// and again for as long as their 512-packet log holds it (25 s of the
// lowest rung), long after their SRTP replay window of 64 packets drops
// its resends unseen. Those resends, numbered afresh for transport-wide
// feedback, read as 3 % loss on an open link, and probe padding NACKed
// packet by packet after a probe overfilled a link as up to 10 %: enough
// to fail the probes that were to climb it. Padding carries nothing and
// is never resent; media only while it is among the last nackWindow
// packets sent on its stream and younger than nackMaxAge.
type nackLimiter struct {
	interceptor.NoOp
	mu      sync.Mutex
	streams map[uint32]*nackStream // by SSRC
}

const (
	// nackWindow is pion's SRTP replay window (libsrtp's is 128): the
	// resend of an older packet is dropped as a replay.
	nackWindow = 64
	// nackMaxAge is how long a packet is worth resending: libwebrtc keeps
	// packets for retransmission about a second.
	nackMaxAge = time.Second
)

// nackStream is one sent stream's retransmission budget and its last
// nackWindow packets.
type nackStream struct {
	tokens  float64
	started bool
	last    uint16 // the newest sequence number sent
	recent  [nackWindow]sentPacket
}

type sentPacket struct {
	seq         uint16
	ok, padding bool
	at          time.Time
}

// sent records a packet written on the stream; a resend (a sequence
// number already sent) neither earns a retransmission nor looks recent.
func (st *nackStream) sent(h *rtp.Header, payload []byte, now time.Time) {
	if st.started && int16(h.SequenceNumber-st.last) <= 0 {
		return
	}
	st.started = true
	st.tokens = min(st.tokens+nackShare, nackBurst)
	st.last = h.SequenceNumber
	st.recent[int(h.SequenceNumber)%nackWindow] = sentPacket{seq: h.SequenceNumber, ok: true, padding: h.Padding && len(payload) == 0, at: now}
}

// worthResending reports whether seq is recent media.
func (st *nackStream) worthResending(seq uint16, now time.Time) bool {
	p := st.recent[int(seq)%nackWindow]
	return p.ok && p.seq == seq && !p.padding && st.last-seq < nackWindow && now.Sub(p.at) < nackMaxAge
}

func (l *nackLimiter) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	st := &nackStream{tokens: nackBurst}
	l.mu.Lock()
	l.streams[info.SSRC] = st
	l.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		now := time.Now()
		l.mu.Lock()
		st.sent(h, payload, now)
		l.mu.Unlock()
		return w.Write(h, payload, a)
	})
}

func (l *nackLimiter) UnbindLocalStream(info *interceptor.StreamInfo) {
	l.mu.Lock()
	delete(l.streams, info.SSRC)
	l.mu.Unlock()
}

func (l *nackLimiter) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := r.Read(b, a)
			if err != nil {
				return n, attr, err
			}
			if attr == nil {
				attr = make(interceptor.Attributes)
			}
			// Through the attributes: they keep the parsed packets for
			// the readers after us, the NACK responder among them.
			pkts, err := attr.GetRTCPPackets(b[:n])
			if err != nil {
				return n, attr, nil // not ours to judge: later readers report it
			}
			kept, changed := l.trim(pkts, time.Now())
			if !changed {
				return n, attr, nil
			}
			if len(kept) == 0 {
				continue // it held nothing but NACKs over budget
			}
			out, err := rtcp.Marshal(kept)
			if err != nil || len(out) > len(b) {
				return n, attr, nil
			}
			recache(attr, kept)
			return copy(b, out), attr, nil
		}
	})
}

// recache replaces the parsed packets the attributes keep (under pion's
// unexported key) with what we rewrote the buffer to: readers after us take
// the parsed packets from there, not from the buffer, and an interceptor
// before us that parsed the batch (the bandwidth estimator, which reads
// transport-wide feedback) left the untrimmed NACKs in them. The responder
// then resent every packet asked for (seen: 1,200 retransmissions a
// second into a 60 kb/s link).
func recache(attr interceptor.Attributes, pkts []rtcp.Packet) {
	for k, v := range attr {
		if _, ok := v.([]rtcp.Packet); ok {
			attr[k] = pkts
		}
	}
}

// trim cuts NACKs down to the budget, leaving out what is not worth
// resending; changed reports whether it did.
func (l *nackLimiter) trim(pkts []rtcp.Packet, now time.Time) (kept []rtcp.Packet, changed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept = pkts[:0:0]
	for _, p := range pkts {
		nack, ok := p.(*rtcp.TransportLayerNack)
		if !ok {
			kept = append(kept, p)
			continue
		}
		st := l.streams[nack.MediaSSRC] // none for a stream we do not send
		var seqs []uint16
		for _, pair := range nack.Nacks {
			for _, seq := range pair.PacketList() {
				if st != nil && !st.worthResending(seq, now) {
					changed = true
					continue
				}
				seqs = append(seqs, seq)
			}
		}
		allowed := 0
		if st != nil {
			allowed = min(len(seqs), int(st.tokens))
			st.tokens -= float64(allowed)
		}
		if allowed < len(seqs) {
			changed = true
		}
		if allowed == 0 {
			continue
		}
		// The newest losses are the ones still worth resending.
		nack.Nacks = rtcp.NackPairsFromSequenceNumbers(seqs[len(seqs)-allowed:])
		kept = append(kept, nack)
	}
	return kept, changed
}
