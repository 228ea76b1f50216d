package transport

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// feedbackFor builds the transport-wide feedback a receiver sends for
// packets first..first+len(arrivals)-1 that arrived at arrivals (µs on
// its clock; -1: lost).
func feedbackFor(first uint16, arrivals []int64) *rtcp.TransportLayerCC {
	const ref = 1000 // ×64 ms
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: first, PacketStatusCount: uint16(len(arrivals)), ReferenceTime: ref}
	last := int64(ref * 64_000)
	syms := make([]uint16, 0, len(arrivals))
	for _, at := range arrivals {
		if at < 0 {
			syms = append(syms, rtcp.TypeTCCPacketNotReceived)
			continue
		}
		syms = append(syms, rtcp.TypeTCCPacketReceivedLargeDelta)
		fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: at - last})
		last = at
	}
	fb.PacketChunks = []rtcp.PacketStatusChunk{&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: syms}}
	return fb
}

// TestQueueDelay: the queue is how much longer than the fastest of the
// last seconds the latest feedback's packets took, whatever the offset
// between the clocks; lost and unknown packets do not count.
func TestQueueDelay(t *testing.T) {
	log := &sentLog{}
	t0 := time.Unix(1_700_000_000, 0)
	const offset = 64_000_000 + 1_234 // receiver clock minus ours, µs, plus the path
	arrive := func(seq uint16, queue time.Duration) int64 {
		at, _ := log.departed(seq)
		return at + offset + queue.Microseconds()
	}
	for seq := range uint16(40) {
		log.record(seq, t0.Add(time.Duration(seq)*20*time.Millisecond))
	}
	var q queueDelay
	now := t0
	feed := func(first uint16, queues ...time.Duration) time.Duration {
		var at []int64
		for i, d := range queues {
			if d < 0 {
				at = append(at, -1)
				continue
			}
			at = append(at, arrive(first+uint16(i), d))
		}
		now = now.Add(100 * time.Millisecond)
		q.feedback(feedbackFor(first, at), log, now)
		return q.queue
	}
	ms := time.Millisecond
	if got := feed(0, 0, 3*ms, ms, 0, 2*ms); got != 0 {
		t.Errorf("an empty queue (jitter up to 3 ms): %v", got)
	}
	if got := feed(5, 12*ms, 14*ms, 16*ms, 18*ms, 20*ms); got != 12*ms {
		t.Errorf("a queue growing from 12 ms: %v, want 12ms (the least of the interval)", got)
	}
	if got := feed(10, -1, 30*ms, -1, 25*ms, 40*ms); got != 25*ms {
		t.Errorf("with losses: %v, want 25ms", got)
	}
	if got := feed(15, 0, 0); got != 0 {
		t.Errorf("drained: %v", got)
	}
	at := q.at
	q.feedback(feedbackFor(5000, []int64{1, 2}), log, now.Add(time.Second))
	if q.at != at || q.queue != 0 {
		t.Errorf("feedback about packets we have no departure for changed the queue to %v", q.queue)
	}
	// The base is the fastest of the last 10 s: a path that got slower
	// for good reads as a queue for that long, then as the path.
	for i := range 11 {
		now = now.Add(900 * time.Millisecond)
		got := feed(uint16(20+i), 30*ms)
		if i < 9 && got != 30*ms {
			t.Fatalf("%d s after the path got 30 ms slower: %v, want 30ms", i, got)
		}
		if i == 10 && got != 0 {
			t.Errorf("11 s after: %v, want 0 (the new base)", got)
		}
	}
}

// TestSentLogRecordsTransportWideNumbers: the departure log keys what
// leaves by its transport-wide sequence number, and keeps it until the
// number comes round again.
func TestSentLogRecordsTransportWideNumbers(t *testing.T) {
	l := &sentLog{}
	info := &interceptor.StreamInfo{SSRC: 1, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}}}
	w := l.BindLocalStream(info, nopWriter)
	for _, seq := range []uint16{7, 8} {
		h := &rtp.Header{}
		ext, _ := (&rtp.TransportCCExtension{TransportSequence: seq}).Marshal()
		if err := h.SetExtension(5, ext); err != nil {
			t.Fatal(err)
		}
		before := time.Now().UnixMicro()
		if _, err := w.Write(h, nil, nil); err != nil {
			t.Fatal(err)
		}
		if at, ok := l.departed(seq); !ok || at < before || at > time.Now().UnixMicro() {
			t.Errorf("packet %d: departed %v, %v", seq, at, ok)
		}
	}
	if _, ok := l.departed(9); ok {
		t.Error("a packet never sent has a departure")
	}
	if _, ok := l.departed(7 + sentLogSize); ok {
		t.Error("a number one lap later has the first lap's departure")
	}
	if got := l.BindLocalStream(&interceptor.StreamInfo{SSRC: 2}, nopWriter); got == nil {
		t.Error("no writer for a stream without transport-wide numbers")
	}
}

// departed is departedLocked under the log's lock.
func (l *sentLog) departed(seq uint16) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.departedLocked(seq)
}
