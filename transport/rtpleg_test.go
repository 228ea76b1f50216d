package transport

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestLegReceiverReports: a plain-RTP leg learns the loss and round trip
// toward its remote end from the receiver reports it sends (RTCP on the
// RTP port), ignores reports about other streams and garbage, and forgets
// the loss once reports stop for longer than a gateway's report interval
// allows.
func TestLegReceiverReports(t *testing.T) {
	eng, err := NewEngine(Config{Interfaces: []string{"lo"}, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	gw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	leg, _, err := eng.newRTPLeg(gw.LocalAddr().String(), "opus")
	if err != nil {
		t.Fatal(err)
	}
	leg.start(nil)
	defer leg.Close()
	legAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: leg.conn.LocalAddr().(*net.UDPAddr).Port}

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
	send(&rtcp.ReceiverReport{SSRC: 0x1234, Reports: []rtcp.ReceptionReport{{SSRC: leg.ssrc ^ 1, FractionLost: 200}}})
	_, _ = gw.WriteToUDP([]byte{0x81, 201, 0xff, 0xff, 1}, legAddr) // a truncated RR
	send(&rtcp.ReceiverReport{SSRC: 0x1234, Reports: []rtcp.ReceptionReport{{
		SSRC: leg.ssrc, FractionLost: 64, LastSenderReport: lsr, Delay: uint32(hold.Seconds() * 65536),
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
