package transport

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// rtpSink is where an rtpOut's packets go. A WebRTC peer's sink is its pion
// TrackLocalStaticRTP, which encrypts and stamps its own SSRC and payload
// type; a plain-RTP leg's is its UDP socket (sinkFunc).
type rtpSink interface {
	WriteRTP(pkt *rtp.Packet) error
}

// sinkFunc adapts a function to rtpSink.
type sinkFunc func(pkt *rtp.Packet) error

func (f sinkFunc) WriteRTP(pkt *rtp.Packet) error { return f(pkt) }

// rtpOut is one outgoing RTP stream, whatever carries it: it numbers the
// packets, counts what left for the sender reports and the link's sent
// rate, and builds the sender reports. Timestamps come from the room
// clock: at is the room-clock time of the media in a packet, so every
// stream of a room (and every receiver's) shares one NTP↔RTP mapping.
type rtpOut struct {
	sink      rtpSink
	ssrc      uint32
	pt        uint8 // the sink may overwrite it (pion does)
	clockRate float64
	sentBytes *atomic.Uint64 // payload and padding bytes, for the link's sent rate (may be nil)

	mu      sync.Mutex // the report reads what the writer updates
	seq     uint16
	packets uint32
	octets  uint32
	lastTS  uint32
	lastAt  time.Time
	sent    bool // a media packet left: reports and padding may follow
}

func newRTPOut(sink rtpSink, ssrc uint32, pt uint8, clockRate int, sentBytes *atomic.Uint64) *rtpOut {
	return &rtpOut{sink: sink, ssrc: ssrc, pt: pt, clockRate: float64(clockRate), sentBytes: sentBytes}
}

// header returns the next packet's header. Sequence numbers advance even
// when a write fails: the receiver sees a loss, not a repeat.
func (s *rtpOut) header(ts uint32, marker bool) rtp.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return rtp.Header{Version: 2, PayloadType: s.pt, SequenceNumber: s.seq, Timestamp: ts, Marker: marker, SSRC: s.ssrc}
}

// write sends one media packet and, once it left, counts it for the
// sender reports.
func (s *rtpOut) write(payload []byte, ts uint32, marker bool, at time.Time) error {
	pkt := rtp.Packet{Header: s.header(ts, marker), Payload: payload}
	if err := s.sink.WriteRTP(&pkt); err != nil {
		return err
	}
	s.count(len(payload))
	s.mu.Lock()
	s.packets++
	s.octets += uint32(len(payload))
	s.lastTS, s.lastAt, s.sent = ts, at, true
	s.mu.Unlock()
	return nil
}

// writePadding sends one padding-only packet of size bytes (at most 255)
// with the last media packet's timestamp: it probes the link without
// media. sent is false when no media went out yet (nothing to pad after).
// Padding is not media: the sender reports do not count it.
func (s *rtpOut) writePadding(size byte) (sent bool, err error) {
	s.mu.Lock()
	ok, ts := s.sent, s.lastTS
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	hdr := s.header(ts, false)
	hdr.Padding, hdr.PaddingSize = true, size
	if err := s.sink.WriteRTP(&rtp.Packet{Header: hdr}); err != nil {
		return false, err
	}
	s.count(int(size))
	return true, nil
}

func (s *rtpOut) count(n int) {
	if s.sentBytes != nil {
		s.sentBytes.Add(uint64(n))
	}
}

// ssrcOrZero is the stream's SSRC, 0 for no stream.
func (s *rtpOut) ssrcOrZero() uint32 {
	if s == nil {
		return 0
	}
	return s.ssrc
}

// report returns a sender report for now, extrapolating the RTP time from
// the last packet's room-clock time; false before anything was sent.
func (s *rtpOut) report(now time.Time) (*rtcp.SenderReport, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sent {
		return nil, false
	}
	// Through int64: a report may precede the packet's room-clock time,
	// and a negative float converts to uint32 only by accident.
	elapsed := int64(now.Sub(s.lastAt).Seconds() * s.clockRate)
	return &rtcp.SenderReport{
		SSRC:        s.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     s.lastTS + uint32(elapsed),
		PacketCount: s.packets,
		OctetCount:  s.octets,
	}, true
}

// ntpTime converts t to the 64-bit NTP format (seconds since 1900 in the
// high word, binary fraction in the low word).
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}
