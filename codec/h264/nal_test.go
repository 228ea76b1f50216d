package h264

import (
	"bytes"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
)

func TestNextNAL(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want [][]byte
	}{
		{nil, nil},
		{[]byte{1, 2, 3}, nil},
		{[]byte{0, 0, 1}, [][]byte{{}}},
		{[]byte{0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 0, 0, 1, 0x65}, [][]byte{{0x67, 1}, {0x68, 2}, {0x65}}},
		// Leading garbage is skipped; 00 00 02 and 00 00 03 are not start codes.
		{[]byte{9, 9, 0, 0, 1, 0x41, 0, 0, 3, 1, 0, 0, 2, 0, 0}, [][]byte{{0x41, 0, 0, 3, 1, 0, 0, 2}}},
	} {
		var got [][]byte
		for nal, rest, ok := nextNAL(c.in); ok; nal, rest, ok = nextNAL(rest) {
			got = append(got, nal)
		}
		if len(got) != len(c.want) {
			t.Fatalf("nextNAL(% x) = %x, want %x", c.in, got, c.want)
		}
		for i := range got {
			if !bytes.Equal(got[i], c.want[i]) {
				t.Fatalf("nextNAL(% x) = %x, want %x", c.in, got, c.want)
			}
		}
	}
}

func TestBitReader(t *testing.T) {
	// 1 | 010 | 011 | 00100 | 00101 ... : ue 0, 1, 2, 3, 4; then the
	// emulation-prevention byte in 00 00 03 is skipped.
	r := bitReader{b: []byte{0b1010_0110, 0b0100_0010, 0b1000_0000, 0, 0, 3, 0xff}}
	for want := range uint32(5) {
		if got := r.ue(); got != want {
			t.Fatalf("ue %d, want %d", got, want)
		}
	}
	r.u(7)
	if got := r.u(16); got != 0 || r.err {
		t.Fatalf("zeros %d, err %v", got, r.err)
	}
	if got := r.u(8); got != 0xff || r.err {
		t.Fatalf("after 00 00 03: %#x, err %v", got, r.err)
	}
	if r.u(1); !r.err {
		t.Fatal("read past the end without error")
	}
	// A run of 32 zero bits is not a valid Exp-Golomb code here.
	r = bitReader{b: []byte{0, 0, 0, 0, 0xff}}
	if r.ue(); !r.err {
		t.Fatal("33-bit Exp-Golomb code accepted")
	}
}

// TestParseEncoderOutput: the SPS, PPS and slice headers the encoder writes
// parse to the sizes and frame numbers expected.
func TestParseEncoderOutput(t *testing.T) {
	for _, s := range [][2]int{{320, 240}, {161, 97}, {1920, 1080}, {2, 2}} {
		enc, err := NewEncoder(codec.VideoEncoderParams{Width: s[0], Height: s[1], FPS: 30})
		if err != nil {
			t.Fatal(err)
		}
		f := codectest.SolidFrame(s[0], s[1], 0, 0, 0)
		var sps [32]spsInfo
		var ppsSPS [256]uint8
		for i := range 5 {
			codectest.MovingFrame(f, i)
			out, _, err := enc.Encode(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			slices := 0
			for nal, rest, ok := nextNAL(out); ok; nal, rest, ok = nextNAL(rest) {
				switch nal[0] & 0x1f {
				case nalSPS:
					id, info, ok := parseSPS(nal)
					w, h := CodedSize(s[0], s[1])
					if !ok || info.width != w || info.height != h || info.codedWidth != (w+15)/16*16 {
						t.Fatalf("%v: SPS %d %+v %v", s, id, info, ok)
					}
					sps[id] = info
				case nalPPS:
					id, spsID, ok := parsePPS(nal)
					if !ok {
						t.Fatalf("PPS % x", nal)
					}
					ppsSPS[id] = uint8(spsID + 1)
				case nalSlice, nalIDR:
					h, _, ok := parseSliceHeader(nal, &ppsSPS, &sps)
					if !ok || h.frameNum != uint32(i) {
						t.Fatalf("%v frame %d: slice header %+v %v", s, i, h, ok)
					}
					slices++
				}
			}
			if slices != 1 {
				t.Fatalf("%d slices", slices)
			}
		}
		enc.Close()
	}
}
