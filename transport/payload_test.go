package transport

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

var (
	sps = []byte{0x67, 0x42, 0xe0, 0x1f, 0xaa}
	pps = []byte{0x68, 0xce, 0x3c, 0x80}
	idr = append([]byte{0x65}, bytes.Repeat([]byte{0x11}, 3000)...) // needs FU-A at 1200
	pSl = []byte{0x41, 0x9a, 0x22}
)

func annexB(nals ...[]byte) []byte {
	var b []byte
	for _, n := range nals {
		b = append(append(b, 0, 0, 0, 1), n...)
	}
	return b
}

func TestH264Assemble(t *testing.T) {
	stap := []byte{nalSTAPA, 0, byte(len(sps))}
	stap = append(append(stap, sps...), 0, byte(len(pps)))
	stap = append(stap, pps...)
	fu := func(s, e bool, data ...byte) []byte {
		h := byte(nalIDR)
		if s {
			h |= 0x80
		}
		if e {
			h |= 0x40
		}
		return append([]byte{0x60 | nalFUA, h}, data...)
	}
	cases := []struct {
		name     string
		payloads [][]byte
		want     []byte
		err      bool
	}{
		{"single NAL", [][]byte{pSl}, annexB(pSl), false},
		{"STAP-A then single", [][]byte{stap, pSl}, annexB(sps, pps, pSl), false},
		{"FU-A in three", [][]byte{fu(true, false, 1, 2), fu(false, false, 3), fu(false, true, 4)}, annexB([]byte{0x65, 1, 2, 3, 4}), false},
		{"FU-A without start", [][]byte{fu(false, false, 3), fu(false, true, 4)}, nil, true},
		{"FU-A without end", [][]byte{fu(true, false, 1, 2)}, nil, true},
		{"truncated STAP-A", [][]byte{{nalSTAPA, 0, 9, 1}}, nil, true},
		{"FU-B not allowed", [][]byte{{29, 0x80, 1}}, nil, true},
		{"empty payload", [][]byte{{}}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h264Format{}.assemble(nil, tc.payloads)
			if (err != nil) != tc.err || (err != nil && !errors.Is(err, errBadPayload)) {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && !bytes.Equal(got, tc.want) {
				t.Fatalf("got % x\nwant % x", got, tc.want)
			}
		})
	}
}

// TestH264RoundTrip packetizes access units with pion's payloader (FU-A
// for the large IDR, STAP-A off) and reassembles them through the frame
// assembler, reordered.
func TestH264RoundTrip(t *testing.T) {
	units := [][]byte{annexB(sps, pps, idr), annexB(pSl), annexB(pSl)}
	var pkts []*rtp.Packet
	var pay codecs.H264Payloader
	seq := uint16(65530)
	for i, au := range units {
		ps := pay.Payload(1200, au)
		for j, p := range ps {
			pkts = append(pkts, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(3000 * i), Marker: j == len(ps)-1}, Payload: p})
			seq++
		}
	}
	pkts[1], pkts[3] = pkts[3], pkts[1] // reorder inside the IDR
	a := mustAssembler(t, "video/H264", time.Second)
	var got [][]byte
	for _, p := range pkts {
		a.Push(p, time.Now(), func(f []byte, loss bool) {
			if loss {
				t.Errorf("loss flagged on a clean stream")
			}
			got = append(got, f)
		})
	}
	if len(got) != len(units) {
		t.Fatalf("%d access units, want %d", len(got), len(units))
	}
	for i := range units {
		if !bytes.Equal(stripStartCodes(got[i]), stripStartCodes(units[i])) {
			t.Errorf("unit %d differs", i)
		}
	}
	if !a.IsKeyFrame(got[0]) || a.IsKeyFrame(got[1]) {
		t.Error("keyframe detection")
	}
}

// stripStartCodes compares NAL content independent of 3- or 4-byte codes.
func stripStartCodes(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte{0, 0, 0, 1}, []byte{0xff}), []byte{0, 0, 1}, []byte{0xff})
}

// FuzzH264Assemble: any payloads either assemble or fail cleanly.
func FuzzH264Assemble(f *testing.F) {
	f.Add([]byte{0x41, 1, 2}, []byte{nalSTAPA, 0, 1, 0x41}, []byte{0x7c, 0x85, 1})
	f.Add([]byte{0x7c, 0x45, 9}, []byte{}, []byte{0x18})
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		out, err := h264Format{}.assemble(nil, [][]byte{a, b, c})
		if err == nil && len(out) == 0 {
			t.Fatal("empty access unit without error")
		}
		_ = h264Format{}.isStart(a)
		_ = h264Format{}.isKeyFrame(out)
	})
}
