package transport

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// twcc is a transport-wide feedback with n packets of which the first
// lost are reported lost, the rest received.
func twcc(n, lost int) *rtcp.TransportLayerCC {
	p := &rtcp.TransportLayerCC{PacketStatusCount: uint16(n)}
	if lost > 0 {
		p.PacketChunks = append(p.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: uint16(lost)})
	}
	p.PacketChunks = append(p.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: uint16(n - lost)})
	return p
}

func TestFeedbackLoss(t *testing.T) {
	if lost, total := feedbackLoss(twcc(10, 4)); lost != 4 || total != 10 {
		t.Fatalf("lost %d of %d, want 4 of 10", lost, total)
	}
	// A status vector's symbols past the count are padding: not counted.
	p := &rtcp.TransportLayerCC{PacketStatusCount: 3, PacketChunks: []rtcp.PacketStatusChunk{&rtcp.StatusVectorChunk{
		SymbolSize: rtcp.TypeTCCSymbolSizeOneBit,
		SymbolList: []uint16{1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}}}
	if lost, total := feedbackLoss(p); lost != 1 || total != 3 {
		t.Fatalf("status vector: lost %d of %d, want 1 of 3", lost, total)
	}
}

// TestDeliveryCapsOnAFlood: feedback that shows most of what was sent
// lost caps the rate at what arrived, for floodHold; feedback with a
// little loss (a queue building, a probe stopped early) caps nothing.
func TestDeliveryCapsOnAFlood(t *testing.T) {
	var d delivery
	t0 := time.Unix(1000, 0)
	sent := uint64(0)
	step := func(n, lost int) {
		t0 = t0.Add(100 * time.Millisecond)
		sent += 18_750 // 1.5 Mb/s
		d.feedback(twcc(n, lost), sent, t0)
	}
	step(30, 0)
	step(30, 2)
	if l := d.limit(t0); l != 0 {
		t.Fatalf("limit %d after 7 %% loss, want none", l)
	}
	step(5, 2) // 2 of a handful lost: too few to judge
	step(5, 2)
	if l := d.limit(t0); l != 0 {
		t.Fatalf("limit %d after 4 of 10 packets lost, want none yet", l)
	}
	t0 = t0.Add(time.Second) // start over
	d.feedback(twcc(30, 0), sent, t0)
	step(30, 24) // 80 % lost: 300 kb/s arrived
	if l := d.limit(t0); l < 280_000 || l > 320_000 {
		t.Fatalf("limit %d after 80 %% loss of 1.5 Mb/s, want about 300 kb/s", l)
	}
	if l := d.limit(t0.Add(floodHold)); l != 0 {
		t.Fatalf("limit %d a floodHold later, want none", l)
	}
}

// TestPacerLimitThrottles: under a cap from a flood the pacer holds to
// it, dropping frames (to the next keyframe) rather than sending them
// into a link that loses them.
func TestPacerLimitThrottles(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pc := newPacer(3_000_000)
	pc.setLimit(300_000)
	if p := pc.pace(); p != 300_000 {
		t.Fatalf("pacing at %.0f under a 300 kb/s cap", p)
	}
	now, drops := t0, 0
	for i := range 60 { // 4 kB frames at 30 fps: ~1 Mb/s
		if !pc.push(frame(4, 1000), i == 0, uint32(i), now, now) {
			drops++
		}
		now = now.Add(33 * time.Millisecond)
		for {
			if _, ok, _ := pc.next(now); !ok {
				break
			}
		}
	}
	if drops == 0 {
		t.Fatal("1 Mb/s into a 300 kb/s cap: nothing dropped")
	}
	pc.setLimit(0)
	if p := pc.pace(); p < 1_000_000 {
		t.Fatalf("pacing at %.0f once the cap lifts, want the rate coming in", p)
	}
}
