package transport

import (
	"sync"

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
	return &nackLimiter{tokens: map[uint32]float64{}}, nil
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
type nackLimiter struct {
	interceptor.NoOp
	mu     sync.Mutex
	tokens map[uint32]float64 // by SSRC
}

func (l *nackLimiter) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	ssrc := info.SSRC
	l.mu.Lock()
	l.tokens[ssrc] = nackBurst
	l.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		l.mu.Lock()
		l.tokens[ssrc] = min(l.tokens[ssrc]+nackShare, nackBurst)
		l.mu.Unlock()
		return w.Write(h, payload, a)
	})
}

func (l *nackLimiter) UnbindLocalStream(info *interceptor.StreamInfo) {
	l.mu.Lock()
	delete(l.tokens, info.SSRC)
	l.mu.Unlock()
}

func (l *nackLimiter) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := r.Read(b, a)
			if err != nil {
				return n, attr, err
			}
			pkts, err := rtcp.Unmarshal(b[:n])
			if err != nil {
				return n, attr, nil // not ours to judge: later readers report it
			}
			kept, changed := l.trim(pkts)
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
			return copy(b, out), attr, nil
		}
	})
}

// trim cuts NACKs down to the budget; changed reports whether it did.
func (l *nackLimiter) trim(pkts []rtcp.Packet) (kept []rtcp.Packet, changed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept = pkts[:0:0]
	for _, p := range pkts {
		nack, ok := p.(*rtcp.TransportLayerNack)
		if !ok {
			kept = append(kept, p)
			continue
		}
		var seqs []uint16
		for _, pair := range nack.Nacks {
			seqs = append(seqs, pair.PacketList()...)
		}
		tokens := l.tokens[nack.MediaSSRC] // none for a stream we do not send
		allowed := min(len(seqs), int(tokens))
		if _, ok := l.tokens[nack.MediaSSRC]; ok {
			l.tokens[nack.MediaSSRC] = tokens - float64(allowed)
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
