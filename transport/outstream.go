package transport

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// outStream is one outgoing RTP stream plus what its sender reports need.
// Timestamps come from the room clock: at is the room-clock time of the
// media in the packet, so every stream of a room shares one NTP↔RTP mapping.
type outStream struct {
	track     *webrtc.TrackLocalStaticRTP
	ssrc      uint32
	clockRate float64
	counted   *atomic.Uint64 // bytes sent, for the link's sent rate (may be nil)

	mu      sync.Mutex
	seq     uint16
	packets uint32
	octets  uint32
	lastTS  uint32
	lastAt  time.Time
	sent    bool
}

// mixStreamID groups our audio and video tracks into one MediaStream:
// browsers lip-sync only tracks of the same stream.
const mixStreamID = "mcu-mix"

func newOutStream(pc *webrtc.PeerConnection, c webrtc.RTPCodecCapability, kind string) (*outStream, *webrtc.RTPSender, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(c, kind, mixStreamID)
	if err != nil {
		return nil, nil, err
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		return nil, nil, err
	}
	s := &outStream{track: track, clockRate: float64(c.ClockRate)}
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		s.ssrc = uint32(enc[0].SSRC)
	}
	return s, sender, nil
}

// write sends one RTP packet with the next sequence number.
func (s *outStream) write(payload []byte, ts uint32, marker bool, at time.Time) error {
	s.mu.Lock()
	s.seq++
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: ts, Marker: marker}, Payload: payload}
	s.packets++
	s.octets += uint32(len(payload))
	s.lastTS, s.lastAt, s.sent = ts, at, true
	s.mu.Unlock()
	s.count(len(payload))
	return s.track.WriteRTP(&pkt)
}

// writePadding sends one padding-only packet of size bytes (at most 255)
// after the last media packet: it probes the link without media.
func (s *outStream) writePadding(size byte) error {
	s.mu.Lock()
	if !s.sent {
		s.mu.Unlock()
		return nil // nothing to pad after yet
	}
	s.seq++
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: size, SequenceNumber: s.seq, Timestamp: s.lastTS}}
	s.mu.Unlock()
	s.count(int(size))
	return s.track.WriteRTP(&pkt)
}

func (s *outStream) count(n int) {
	if s.counted != nil {
		s.counted.Add(uint64(n))
	}
}

// ssrcOrZero is the stream's SSRC, 0 for no stream.
func (s *outStream) ssrcOrZero() uint32 {
	if s == nil {
		return 0
	}
	return s.ssrc
}

// report returns a sender report for now, extrapolating the RTP time from
// the last packet's room-clock time; false before anything was sent.
func (s *outStream) report(now time.Time) (*rtcp.SenderReport, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sent {
		return nil, false
	}
	return &rtcp.SenderReport{
		SSRC:        s.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     s.lastTS + uint32(now.Sub(s.lastAt).Seconds()*s.clockRate),
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
