package transport

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// recordSink keeps what an rtpOut writes, failing while fail is set.
type recordSink struct {
	pkts []rtp.Packet
	fail bool
}

var errSink = errors.New("sink failed")

func (r *recordSink) WriteRTP(pkt *rtp.Packet) error {
	if r.fail {
		return errSink
	}
	r.pkts = append(r.pkts, *pkt)
	return nil
}

// TestRTPOutSequenceAndCounters: sequence numbers step by one across
// media, padding and failed writes; the header carries the stream's SSRC,
// payload type, timestamp and marker; only media that left counts toward
// the sender report, and payload and padding toward the link's bytes.
func TestRTPOutSequenceAndCounters(t *testing.T) {
	var sink recordSink
	var bytesSent atomic.Uint64
	s := newRTPOut(&sink, 0xabcd, 8, 8000, &bytesSent)
	at := time.Unix(2000, 0)

	if sent, err := s.writePadding(100); sent || err != nil {
		t.Fatalf("padding before any media: sent %v, err %v", sent, err)
	}
	if _, ok := s.report(at); ok {
		t.Fatal("a sender report before any media")
	}
	if err := s.write([]byte{1, 2, 3}, 160, false, at); err != nil {
		t.Fatal(err)
	}
	if err := s.write([]byte{4, 5}, 320, true, at.Add(20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if sent, err := s.writePadding(200); !sent || err != nil {
		t.Fatalf("padding after media: sent %v, err %v", sent, err)
	}
	sink.fail = true
	if err := s.write([]byte{6}, 480, false, at.Add(40*time.Millisecond)); !errors.Is(err, errSink) {
		t.Fatalf("write to a failing sink: %v", err)
	}
	sink.fail = false
	if err := s.write([]byte{7, 8, 9, 10}, 640, false, at.Add(60*time.Millisecond)); err != nil {
		t.Fatal(err)
	}

	want := []struct {
		seq     uint16
		ts      uint32
		marker  bool
		padding byte
		payload int
	}{{1, 160, false, 0, 3}, {2, 320, true, 0, 2}, {3, 320, false, 200, 0}, {5, 640, false, 0, 4}}
	if len(sink.pkts) != len(want) {
		t.Fatalf("%d packets written, want %d", len(sink.pkts), len(want))
	}
	for i, w := range want {
		p := sink.pkts[i]
		if p.Version != 2 || p.SSRC != 0xabcd || p.PayloadType != 8 || p.SequenceNumber != w.seq || p.Timestamp != w.ts ||
			p.Marker != w.marker || p.Header.PaddingSize != w.padding || p.Padding != (w.padding > 0) || len(p.Payload) != w.payload {
			t.Errorf("packet %d: %+v, want %+v", i, p.Header, w)
		}
	}
	sr, ok := s.report(at.Add(60 * time.Millisecond))
	if !ok {
		t.Fatal("no sender report after media")
	}
	if sr.SSRC != 0xabcd || sr.PacketCount != 3 || sr.OctetCount != 9 {
		t.Errorf("report counts %d packets, %d octets (SSRC %x); want 3, 9 (abcd)", sr.PacketCount, sr.OctetCount, sr.SSRC)
	}
	if got := bytesSent.Load(); got != 3+2+200+4 {
		t.Errorf("link bytes %d, want %d", got, 3+2+200+4)
	}
}

// TestRTPOutReportExtrapolates: a sender report maps its NTP time to the
// RTP time the last packet's room-clock time and the clock rate give,
// whenever it is sent.
func TestRTPOutReportExtrapolates(t *testing.T) {
	tests := []struct {
		name      string
		clockRate int
		since     time.Duration // from the last packet's room-clock time to the report
		want      uint32
	}{
		{"at the packet", 48000, 0, 96000},
		{"one second on at 48 kHz", 48000, time.Second, 96000 + 48000},
		{"250 ms on at 8 kHz", 8000, 250 * time.Millisecond, 96000 + 2000},
		{"90 kHz video", 90000, 100 * time.Millisecond, 96000 + 9000},
		{"before the packet's time", 48000, -20 * time.Millisecond, 96000 - 960},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRTPOut(&recordSink{}, 1, 0, tt.clockRate, nil)
			at := time.Unix(3000, 500_000_000)
			if err := s.write([]byte{1}, 96000, false, at); err != nil {
				t.Fatal(err)
			}
			now := at.Add(tt.since)
			sr, ok := s.report(now)
			if !ok {
				t.Fatal("no report")
			}
			if sr.RTPTime != tt.want || sr.NTPTime != ntpTime(now) {
				t.Errorf("RTP time %d at NTP %x, want %d at %x", sr.RTPTime, sr.NTPTime, tt.want, ntpTime(now))
			}
		})
	}
}

// TestNTPTime: seconds since 1900 in the high word, the binary fraction in
// the low one.
func TestNTPTime(t *testing.T) {
	got := ntpTime(time.Unix(0, 500_000_000))
	if secs, frac := got>>32, uint32(got); secs != 2208988800 || frac != 1<<31 {
		t.Errorf("ntpTime(1970 + 0.5 s) = %d + %d/2^32", secs, frac)
	}
}
