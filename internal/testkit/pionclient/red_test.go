package pionclient

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

// chromeRED is a RED payload as the MCU and Chrome build it: the previous
// Opus frame {1,2,3} 960 ticks back, then the current one {4,5}.
var chromeRED = []byte{0x80 | 111, 960 >> 6, (960 & 0x3f) << 2, 3, 111, 1, 2, 3, 4, 5}

func TestSplitRED(t *testing.T) {
	blocks, err := SplitRED(chromeRED)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks[0].PT != 111 || blocks[0].Offset != 960 || !bytes.Equal(blocks[0].Payload, []byte{1, 2, 3}) ||
		blocks[1].PT != 111 || blocks[1].Offset != 0 || !bytes.Equal(blocks[1].Payload, []byte{4, 5}) {
		t.Fatalf("blocks = %+v", blocks)
	}
	if blocks, err := SplitRED([]byte{111, 7}); err != nil || len(blocks) != 1 || !bytes.Equal(blocks[0].Payload, []byte{7}) {
		t.Fatalf("primary alone: %+v, %v", blocks, err)
	}
	for _, bad := range [][]byte{nil, {0x80 | 111, 1, 2}, {0x80 | 111, 15, 0, 9, 111, 1}} {
		if _, err := SplitRED(bad); err == nil {
			t.Errorf("SplitRED(%v) did not fail", bad)
		}
	}
}

// TestREDReceiver: a lost packet's frame comes back from the next packet's
// redundant block, in order; without a loss the redundant block is not
// used, and a repeated packet brings nothing.
func TestREDReceiver(t *testing.T) {
	var r redReceiver
	pkt := func(seq uint16, ts uint32, payload []byte) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts}, Payload: payload}
	}
	tss := func(fs []redFrame) []uint32 {
		var out []uint32
		for _, f := range fs {
			out = append(out, f.ts)
		}
		return out
	}
	if got := tss(r.frames(pkt(10, 1000, []byte{111, 1, 2, 3}))); len(got) != 1 || got[0] != 1000 {
		t.Fatalf("first: %v", got)
	}
	// Seq 11 (ts 1960) is lost; 12 carries it again.
	red := []byte{0x80 | 111, 960 >> 6, (960 & 0x3f) << 2, 2, 111, 8, 9, 4, 5}
	got := r.frames(pkt(12, 2920, red))
	if ts := tss(got); len(ts) != 2 || ts[0] != 1960 || ts[1] != 2920 || !bytes.Equal(got[0].payload, []byte{8, 9}) || r.recovered != 1 {
		t.Fatalf("after a loss: %v (recovered %d)", ts, r.recovered)
	}
	if got := r.frames(pkt(13, 3880, chromeRED)); len(got) != 1 || got[0].ts != 3880 || r.recovered != 1 {
		t.Fatalf("no loss: %v", tss(got))
	}
	if got := r.frames(pkt(13, 3880, chromeRED)); len(got) != 0 {
		t.Fatalf("a repeat brought %v", tss(got))
	}
}
