package transport

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// startTestLeg runs a leg in codec toward a loopback socket standing for
// the gateway; the test's cleanup closes all three.
func startTestLeg(t *testing.T, codec string) (*Engine, *net.UDPConn, *RTPLeg, *net.UDPAddr) {
	t.Helper()
	eng, err := NewEngine(Config{Interfaces: []string{"lo"}, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	gw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	leg, _, err := eng.newRTPLeg(gw.LocalAddr().String(), codec)
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
// allows.
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
	var s = leg.Link()
	for deadline := time.Now().Add(2 * time.Second); !s.AudioReported && time.Now().Before(deadline); s = leg.Link() {
		time.Sleep(5 * time.Millisecond)
	}
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
