package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// loopbackLegs is an engine configuration whose legs may send to loopback
// (the stand-in gateways of these tests).
func loopbackLegs() Config {
	return Config{Interfaces: []string{"lo"}, IncludeLoopback: true, LegAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
}

// newTestEngine returns an engine for cfg that the test's cleanup closes.
func newTestEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	eng, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

// listenLoopback opens a UDP socket on ip (a 127/8 address) that the
// test's cleanup closes.
func listenLoopback(t testing.TB, ip string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// startTestLeg runs a leg in codec toward a loopback socket standing for
// the gateway; the test's cleanup closes all three.
func startTestLeg(t *testing.T, codec string) (*Engine, *net.UDPConn, *RTPLeg, *net.UDPAddr) {
	t.Helper()
	eng := newTestEngine(t, loopbackLegs())
	gw := listenLoopback(t, "127.0.0.1")
	leg, _, err := eng.newRTPLeg("test", gw.LocalAddr().String(), codec)
	if err != nil {
		t.Fatal(err)
	}
	leg.start(nil)
	t.Cleanup(func() { _ = leg.Close() })
	return eng, gw, leg, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: leg.conn.LocalAddr().(*net.UDPAddr).Port}
}

// TestLegReceiverReports: a plain-RTP leg learns the loss and round trip
// toward its remote end from the receiver reports it sends (RTCP on the
// RTP port), ignores reports about other streams and garbage, and forgets
// the loss once reports stop for longer than a gateway's report interval
// allows. What arrives is read when the room pulls the leg, with the
// kernel's arrival times.
func TestLegReceiverReports(t *testing.T) {
	_, gw, leg, legAddr := startTestLeg(t, "opus")

	if s := leg.Link(); s.AudioReported || s.AudioLoss != 0 || s.RTT != 0 {
		t.Fatalf("before any report: %+v", s)
	}
	// The leg sends audio and a sender report; the gateway answers with
	// receiver reports.
	if err := leg.WriteAudio([]byte{0xfc, 1, 2, 3}, 960, time.Now()); err != nil {
		t.Fatal(err)
	}
	leg.sendReport(time.Now())
	var lsr uint32
	buf := make([]byte, 1500)
	_ = gw.SetReadDeadline(time.Now().Add(2 * time.Second))
	for lsr == 0 {
		n, err := gw.Read(buf)
		if err != nil {
			t.Fatalf("no sender report from the leg: %v", err)
		}
		if pkts, err := rtcp.Unmarshal(buf[:n]); err == nil {
			if sr, ok := pkts[0].(*rtcp.SenderReport); ok {
				lsr = uint32(sr.NTPTime >> 16)
			}
		}
	}
	const hold = 30 * time.Millisecond
	time.Sleep(hold)
	send := func(pkt rtcp.Packet) {
		b, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gw.WriteToUDP(b, legAddr); err != nil {
			t.Fatal(err)
		}
	}
	send(&rtcp.ReceiverReport{SSRC: 0x1234, Reports: []rtcp.ReceptionReport{{SSRC: leg.out.ssrc ^ 1, FractionLost: 200}}})
	_, _ = gw.WriteToUDP([]byte{0x81, 201, 0xff, 0xff, 1}, legAddr) // a truncated RR
	send(&rtcp.ReceiverReport{SSRC: 0x1234, Reports: []rtcp.ReceptionReport{{
		SSRC: leg.out.ssrc, FractionLost: 64, LastSenderReport: lsr, Delay: uint32(hold.Seconds() * 65536),
	}}})
	// The room's clock takes what arrived when it next pulls the leg,
	// here well after the reports came: the round trip is still the
	// kernel's arrival time of the report's, not the pull's.
	time.Sleep(200 * time.Millisecond)
	leg.ReadAudio(time.Now())
	s := leg.Link()
	t.Logf("after the reports: %+v", s)
	if !s.AudioReported || s.AudioLoss != 0.25 {
		t.Errorf("audio loss %v (reported %v), want 0.25 from the report about our stream", s.AudioLoss, s.AudioReported)
	}
	if s.RTT <= 0 || s.RTT > 20*time.Millisecond {
		t.Errorf("round trip %v on loopback", s.RTT)
	}
	if s.SentBps <= 0 {
		t.Errorf("sent rate %d after sending audio", s.SentBps)
	}
	if late := leg.link.sample(time.Now().Add(legFeedbackFresh + time.Second)); late.AudioReported || late.AudioLoss != 0 {
		t.Errorf("a report %v old still counts: %+v", legFeedbackFresh+time.Second, late)
	}
}

// TestLegWireAndBadPackets: a leg sends plain RTP in its codec's payload
// type with consecutive sequence numbers, and counts in the engine's stats
// what arrives on its port that is neither RTP nor RTCP.
func TestLegWireAndBadPackets(t *testing.T) {
	eng, gw, leg, legAddr := startTestLeg(t, "PCMU")

	for _, b := range [][]byte{{0x80}, {0x00, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, {0x80, 0, 0, 1, 0}} {
		if _, err := gw.WriteToUDP(b, legAddr); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); eng.Stats().BadRTP < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := eng.Stats().BadRTP; got != 3 {
		t.Errorf("%d bad packets counted, want 3", got)
	}

	for i := range 2 {
		if err := leg.WriteAudio([]byte{0xff, 0xfe}, uint32(160*(i+1)), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	_ = gw.SetReadDeadline(time.Now().Add(2 * time.Second))
	var seqs []uint16
	for len(seqs) < 2 {
		n, err := gw.Read(buf)
		if err != nil {
			t.Fatalf("no RTP from the leg: %v", err)
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(buf[:n]); err != nil || pkt.PayloadType >= 64 {
			continue // RTCP
		}
		if pkt.PayloadType != 0 || pkt.SSRC != leg.out.ssrc || pkt.Timestamp != uint32(160*(len(seqs)+1)) || string(pkt.Payload) != "\xff\xfe" {
			t.Errorf("packet %d: %+v", len(seqs), pkt)
		}
		seqs = append(seqs, pkt.SequenceNumber)
	}
	if seqs[1] != seqs[0]+1 {
		t.Errorf("sequence numbers %v", seqs)
	}
}

// TestLegLatching: a leg takes RTP, DTMF and RTCP BYE from its remote's
// IP on any port, and latches there; from another address it takes
// nothing (counting what it drops) unless it latches to any source, and
// then only to an address it would be allowed to send to.
func TestLegLatching(t *testing.T) {
	cases := []struct {
		name     string
		latchAny bool
		from     string
		latched  bool
	}{
		{"remote's IP, another port", false, "127.0.0.1:40000", true},
		{"another IP", false, "127.0.0.2:40000", false},
		{"another IP, latching to any", true, "127.0.0.2:40000", true},
		{"outside the allowed networks, latching to any", true, "10.0.0.1:40000", false},
	}
	marshal := func(p interface{ Marshal() ([]byte, error) }) []byte {
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	audio := marshal(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 7}, Payload: make([]byte, 160)})
	key := marshal(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: telephoneEventPT, SequenceNumber: 2, Timestamp: 160, SSRC: 7}, Payload: []byte{5, 0x8a, 0, 160}})
	bye := marshal(&rtcp.Goodbye{Sources: []uint32{7}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loopbackLegs()
			cfg.LegLatchAny = tc.latchAny
			eng := newTestEngine(t, cfg)
			leg, _, err := eng.newRTPLeg("test", "127.0.0.1:5004", "PCMU")
			if err != nil {
				t.Fatal(err)
			}
			defer leg.Close()
			ended := make(chan struct{})
			leg.gone = func(error) { close(ended) }
			from := netip.MustParseAddrPort(tc.from)
			for _, b := range [][]byte{audio, key, bye} {
				leg.handleDatagram(b, from, time.Now())
			}
			want, foreign := netip.MustParseAddrPort("127.0.0.1:5004"), uint64(3)
			if tc.latched {
				want, foreign = from, 0
			}
			if got := *leg.remote.Load(); got != want {
				t.Errorf("sends to %v, want %v", got, want)
			}
			if got := eng.Stats().LegForeignPackets; got != foreign {
				t.Errorf("%d foreign packets counted, want %d", got, foreign)
			}
			if keys := string(leg.TakeDTMF(nil)); (keys == "5") != tc.latched {
				t.Errorf("keys %q", keys)
			}
			select {
			case <-ended:
				if !tc.latched {
					t.Error("a foreign BYE ended the leg")
				}
			case <-time.After(100 * time.Millisecond):
				if tc.latched {
					t.Error("the remote's BYE did not end the leg")
				}
			}
		})
	}
}

// freePortPair returns a port p such that p and p+1 are free on loopback.
func freePortPair(t *testing.T) int {
	t.Helper()
	for range 100 {
		c := listenLoopback(t, "127.0.0.1")
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if p >= 65535 {
			continue
		}
		if d, err := net.ListenUDP("udp4", &net.UDPAddr{Port: p + 1}); err == nil {
			d.Close()
			return p
		}
	}
	t.Fatal("no two adjacent free UDP ports")
	return 0
}

// TestLegBook: a leg toward a live leg's own address (advertised, or its
// port on any address of this host) is refused, a new leg never binds the
// port a live leg sends to, and legs are capped per room and freed when
// they close.
func TestLegBook(t *testing.T) {
	open := func(eng *Engine, room, remote string) (*RTPLeg, string, error) {
		leg, local, err := eng.newRTPLeg(media.RoomID(room), remote, "PCMU")
		if err == nil {
			t.Cleanup(func() { _ = leg.Close() })
		}
		return leg, local, err
	}
	t.Run("loops", func(t *testing.T) {
		cfg := loopbackLegs()
		p := freePortPair(t)
		cfg.UDPPortMin, cfg.UDPPortMax = uint16(p), uint16(p+1)
		eng := newTestEngine(t, cfg)
		// Sending to p, the leg must bind p+1 whichever the range would
		// have picked; then no port is left that nobody sends to.
		leg, local, err := open(eng, "a", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("127.0.0.1:%d", p+1); local != want {
			t.Fatalf("a leg sending to %d got %s, want %s", p, local, want)
		}
		if _, _, err := open(eng, "a", "127.0.0.9:5004"); err == nil || !strings.Contains(err.Error(), "no free UDP port") {
			t.Fatalf("a leg with only the port a leg sends to left: %v", err)
		}
		for _, remote := range []string{local, fmt.Sprintf("127.0.0.3:%d", p+1)} {
			if _, _, err := open(eng, "b", remote); !errors.Is(err, ErrBadLeg) || !strings.HasSuffix(err.Error(), "(a loop)") {
				t.Errorf("remote %s, a live leg's own port: %v", remote, err)
			}
		}
		_ = leg.Close()
		if _, _, err := open(eng, "b", fmt.Sprintf("127.0.0.3:%d", p+1)); err != nil {
			t.Errorf("toward the port of a leg that closed: %v", err)
		}
	})
	t.Run("cap", func(t *testing.T) {
		cfg := loopbackLegs()
		cfg.MaxLegsPerRoom = 2
		eng := newTestEngine(t, cfg)
		var legs []*RTPLeg
		for i, room := range []string{"a", "a", "b"} {
			leg, _, err := open(eng, room, fmt.Sprintf("127.0.0.9:%d", 5004+i))
			if err != nil {
				t.Fatal(err)
			}
			legs = append(legs, leg)
		}
		if _, _, err := open(eng, "a", "127.0.0.9:5010"); !errors.Is(err, ErrRoomFull) {
			t.Fatalf("third leg in a room capped at 2: %v", err)
		}
		_ = legs[0].Close()
		if _, _, err := open(eng, "a", "127.0.0.9:5010"); err != nil {
			t.Fatalf("a leg after one closed: %v", err)
		}
	})
}

// TestLegGoroutinePanicFailsTheLeg: a panic in one of a leg's goroutines
// is recovered there; the leg's gone callback hears it as a failure (not
// an ordinary end) and the engine counts it.
func TestLegGoroutinePanicFailsTheLeg(t *testing.T) {
	eng := newTestEngine(t, loopbackLegs())
	leg, _, err := eng.newRTPLeg("test", "127.0.0.1:5004", "PCMU")
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	causes := make(chan error, 1)
	leg.gone = func(cause error) { causes <- cause }
	leg.wg.Add(1)
	go func() {
		defer leg.wg.Done()
		defer leg.contain("reader")
		panic("a parser's bug")
	}()
	select {
	case cause := <-causes:
		if cause == nil || !strings.Contains(cause.Error(), "reader panicked: a parser's bug") {
			t.Fatalf("gone with %v, want the panic", cause)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the leg's failure was not reported")
	}
	if n := eng.Stats().Panics; n != 1 {
		t.Fatalf("%d panics counted", n)
	}
}
