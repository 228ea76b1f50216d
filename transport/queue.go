package transport

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// A bottleneck that is full queues what we send before it drops it. How
// long our packets wait there is in transport-wide feedback: the receiver
// reports when each numbered packet arrived, and we know when it left, so
// arrival minus departure is the one-way delay plus the offset between the
// two clocks; the least of it over the last seconds is the path with an
// empty queue, and what the latest feedback shows above that is the
// queue. The estimator reads the same feedback, but only says "overuse"
// once its trend of delay changes crosses an adaptive threshold: a probe
// that overfilled a 300 kb/s link by 2 % for 0.6 s (12 ms of queue) passed
// for clean, and the next, twice as large, dropped media before the
// estimator spoke.

const (
	// sentLogSize is how many departures are kept: feedback comes every
	// 100 ms, and 4096 packets are seconds of the top rung with probe
	// padding.
	sentLogSize = 4096
	// queueBaseBuckets one-second buckets of the least one-way delay make
	// the base the queue is measured above: long enough to have seen the
	// queue empty between bursts, short enough to follow a new route.
	queueBaseBuckets = 10
)

// sentLog is an interceptor that remembers when each packet numbered for
// transport-wide feedback left. It must be registered first, nearest the
// network, so the time is that of the write to the socket.
type sentLog struct {
	interceptor.NoOp
	mu   sync.Mutex
	left [sentLogSize]departure
}

type departure struct {
	seq uint16
	ok  bool
	at  int64 // Unix µs
}

// sentLogFactory makes one sentLog per PeerConnection and hands it to
// created (the engine, which gives it to the connection's link monitor).
type sentLogFactory struct{ created func(*sentLog) }

func (f sentLogFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	l := &sentLog{}
	f.created(l)
	return l, nil
}

func (l *sentLog) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			id = uint8(e.ID) //nolint:gosec // extension IDs are 1..255
		}
	}
	if id == 0 {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if ext := h.GetExtension(id); len(ext) >= 2 {
			l.record(binary.BigEndian.Uint16(ext), time.Now())
		}
		return w.Write(h, payload, a)
	})
}

func (l *sentLog) record(seq uint16, now time.Time) {
	l.mu.Lock()
	l.left[int(seq)%sentLogSize] = departure{seq: seq, ok: true, at: now.UnixMicro()}
	l.mu.Unlock()
}

// departedLocked returns when packet seq left (Unix µs); false if it is
// not (or no longer) known. l.mu is held.
func (l *sentLog) departedLocked(seq uint16) (int64, bool) {
	d := l.left[int(seq)%sentLogSize]
	return d.at, d.ok && d.seq == seq
}

// queueDelay follows the queue our packets wait in from transport-wide
// feedback. Not safe for concurrent use (the link monitor's lock).
type queueDelay struct {
	base   [queueBaseBuckets]delayBucket
	bucket int
	queue  time.Duration // in the latest feedback
	at     time.Time     // of the latest feedback with packets we know
}

type delayBucket struct {
	start time.Time
	least int64 // µs, arrival minus departure
}

// feedback takes one transport-wide feedback received at now.
func (q *queueDelay) feedback(p *rtcp.TransportLayerCC, sent *sentLog, now time.Time) {
	least, ok := leastDelay(p, sent)
	if !ok {
		return
	}
	b := &q.base[q.bucket]
	if b.start.IsZero() || now.Sub(b.start) >= time.Second {
		q.bucket = (q.bucket + 1) % len(q.base)
		b = &q.base[q.bucket]
		*b = delayBucket{start: now, least: least}
	}
	b.least = min(b.least, least)
	base := least
	for _, old := range q.base {
		if !old.start.IsZero() && now.Sub(old.start) < queueBaseBuckets*time.Second {
			base = min(base, old.least)
		}
	}
	q.queue, q.at = time.Duration(least-base)*time.Microsecond, now
}

// leastDelay is the least arrival-minus-departure (µs) of the packets the
// feedback reports received that sent knows: the queue stands under the
// whole feedback interval, while single packets wait longer behind a
// burst or a slow reader.
func leastDelay(p *rtcp.TransportLayerCC, sent *sentLog) (int64, bool) {
	arrival := int64(p.ReferenceTime) * 64_000 // µs
	deltas := p.RecvDeltas
	var least int64
	found := false
	sent.mu.Lock() // once for the feedback's packets, not once each
	defer sent.mu.Unlock()
	forEachStatus(p, func(seq, sym uint16) {
		if (sym != rtcp.TypeTCCPacketReceivedSmallDelta && sym != rtcp.TypeTCCPacketReceivedLargeDelta) || len(deltas) == 0 {
			return
		}
		arrival += deltas[0].Delta
		deltas = deltas[1:]
		if at, ok := sent.departedLocked(seq); ok {
			if d := arrival - at; !found || d < least {
				least, found = d, true
			}
		}
	})
	return least, found
}

// forEachStatus calls f with each packet a transport-wide feedback
// reports on, in order: its sequence number and status symbol.
func forEachStatus(p *rtcp.TransportLayerCC, f func(seq, sym uint16)) {
	seq, left := p.BaseSequenceNumber, int(p.PacketStatusCount)
	status := func(sym uint16) {
		if left > 0 {
			f(seq, sym)
			seq++
			left--
		}
	}
	for _, ch := range p.PacketChunks {
		switch c := ch.(type) {
		case *rtcp.RunLengthChunk:
			for range min(int(c.RunLength), left) {
				status(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				status(s)
			}
		}
	}
}
