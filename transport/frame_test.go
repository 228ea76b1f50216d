package transport

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// vp8Packets splits frame number n (of 3 packets, starting at seq) into
// RTP packets with a minimal VP8 payload descriptor.
func vp8Packets(n int, seq uint16, parts int) []*rtp.Packet {
	var out []*rtp.Packet
	for i := range parts {
		desc := byte(0x00)
		if i == 0 {
			desc = 0x10 // S=1, PID=0
		}
		payload := []byte{desc, byte(n), byte(i)}
		out = append(out, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq + uint16(i), Timestamp: uint32(3000 * n), Marker: i == parts-1}, Payload: payload})
	}
	return out
}

func frameData(n, parts int) []byte {
	var b []byte
	for i := range parts {
		b = append(b, byte(n), byte(i))
	}
	return b
}

func mustAssembler(t testing.TB, mime string, wait time.Duration) *FrameAssembler {
	t.Helper()
	a, err := NewFrameAssembler(mime, wait)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type emitted struct {
	data []byte
	loss bool
}

func TestVP8Assembler(t *testing.T) {
	const parts = 3
	frames := func(seq0 uint16, count int) (all []*rtp.Packet) {
		for n := range count {
			all = append(all, vp8Packets(n, seq0+uint16(n*parts), parts)...)
		}
		return all
	}
	cases := []struct {
		name    string
		seq0    uint16
		reorder func([]*rtp.Packet) []*rtp.Packet
		want    []int // frame numbers emitted
		lossAt  []int // frames emitted with afterLoss
	}{
		{"in order", 0, nil, []int{0, 1, 2, 3}, nil},
		{"sequence wrap", 65530, nil, []int{0, 1, 2, 3}, nil},
		{"reordered within a frame", 0, func(p []*rtp.Packet) []*rtp.Packet {
			p[3], p[5] = p[5], p[3]
			return p
		}, []int{0, 1, 2, 3}, nil},
		{"reordered across frames", 0, func(p []*rtp.Packet) []*rtp.Packet {
			p[2], p[3] = p[3], p[2] // frame 1's start before frame 0's end
			return p
		}, []int{0, 1, 2, 3}, nil},
		{"duplicates", 0, func(p []*rtp.Packet) []*rtp.Packet {
			return append(p[:4:4], append([]*rtp.Packet{p[3], p[1]}, p[4:]...)...)
		}, []int{0, 1, 2, 3}, nil},
		{"lost middle packet drops the frame", 0, func(p []*rtp.Packet) []*rtp.Packet {
			return append(p[:4:4], p[5:]...) // frame 1 misses its middle
		}, []int{0, 2, 3}, []int{2}},
		{"whole frame lost", 0, func(p []*rtp.Packet) []*rtp.Packet {
			return append(p[:3:3], p[6:]...)
		}, []int{0, 2, 3}, []int{2}},
		{"late packet of an emitted frame is ignored", 0, func(p []*rtp.Packet) []*rtp.Packet {
			return append(p[:6:6], append([]*rtp.Packet{p[1]}, p[6:]...)...)
		}, []int{0, 1, 2, 3}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkts := frames(tc.seq0, 4)
			if tc.reorder != nil {
				pkts = tc.reorder(pkts)
			}
			// Packets come 20 ms apart: a frame with its duplicates spans
			// under 100 ms, and an incomplete one expires two frames on.
			a := mustAssembler(t, "video/VP8", 100*time.Millisecond)
			var got []emitted
			now := time.Unix(0, 0)
			for _, p := range pkts {
				now = now.Add(20 * time.Millisecond) // older incomplete frames expire
				a.Push(p, now, func(f []byte, loss bool) { got = append(got, emitted{f, loss}) })
			}
			if len(got) != len(tc.want) {
				t.Fatalf("emitted %d frames, want %d (%v)", len(got), len(tc.want), got)
			}
			for i, n := range tc.want {
				if !bytes.Equal(got[i].data, frameData(n, parts)) {
					t.Errorf("frame %d = %v, want frame %d", i, got[i].data, n)
				}
				wantLoss := false
				for _, l := range tc.lossAt {
					wantLoss = wantLoss || l == n
				}
				if got[i].loss != wantLoss {
					t.Errorf("frame %d afterLoss = %v, want %v", n, got[i].loss, wantLoss)
				}
			}
		})
	}
}

// TestVP8AssemblerEmitsAtMarker: a frame comes out with its last packet,
// not one frame later.
func TestVP8AssemblerEmitsAtMarker(t *testing.T) {
	a := mustAssembler(t, "video/VP8", time.Second)
	var n int
	for _, p := range vp8Packets(0, 100, 2) {
		a.Push(p, time.Now(), func([]byte, bool) { n++ })
	}
	if n != 1 {
		t.Fatalf("%d frames after the marker packet, want 1", n)
	}
}

// FuzzVP8Assembler: arbitrary packets never panic, memory stays bounded,
// and every emitted frame is non-empty.
func FuzzVP8Assembler(f *testing.F) {
	f.Add([]byte{0x10, 1, 2, 0x00, 3, 4}, uint16(0), uint32(0), true)
	f.Add([]byte{0x90, 0x80, 0x05, 1}, uint16(65535), uint32(1<<31), false)
	f.Add([]byte{}, uint16(7), uint32(9), true)
	f.Fuzz(func(t *testing.T, payload []byte, seq uint16, ts uint32, marker bool) {
		a := mustAssembler(t, "video/VP8", 10*time.Millisecond)
		now := time.Unix(0, 0)
		step := 1 // 0 repeats sequence numbers, 2 skips every other
		if len(payload) > 0 {
			step = int(payload[0] % 3)
		}
		for i := range 40 {
			p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq + uint16(i*step), Timestamp: ts + uint32(i/3)*3000, Marker: marker && i%3 == 2}, Payload: payload}
			now = now.Add(5 * time.Millisecond)
			a.Push(p, now, func(fr []byte, _ bool) {
				if len(fr) == 0 {
					t.Fatal("empty frame emitted")
				}
			})
			if len(a.pending) > maxPendingFrames+1 {
				t.Fatalf("%d frames pending", len(a.pending))
			}
		}
	})
}

func (e emitted) String() string { return fmt.Sprintf("%v/%v", e.data, e.loss) }

// Padding between frames (a sender probing the link) fills the sequence
// gap: the next frame is not flagged as following a loss, while a real gap
// still is.
func TestAssemblerPaddingIsNotLoss(t *testing.T) {
	a := mustAssembler(t, "video/VP8", time.Second)
	var got []emitted
	emit := func(d []byte, loss bool) { got = append(got, emitted{d, loss}) }
	push := func(ps ...*rtp.Packet) {
		for _, p := range ps {
			a.Push(p, time.Now(), emit)
		}
	}
	pad := func(seq uint16) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: 0, Padding: true}}
	}
	push(vp8Packets(0, 65530, 2)...) // 65530-65531
	push(pad(65532), pad(65533))     // across the wrap too
	push(pad(65534), pad(65535), pad(0))
	push(vp8Packets(1, 1, 2)...) // 1-2
	push(pad(3))                 // 4 never arrives
	push(vp8Packets(2, 5, 2)...)
	if len(got) != 3 || got[0].loss || got[1].loss || !got[2].loss {
		t.Fatalf("emitted %v: want frames 0 and 1 clean, 2 after a loss", got)
	}
}

// TestAssemblerBoundsAFrame: a sender that never ends a frame (one
// timestamp, no marker) cannot grow it past maxFramePackets: the frame is
// dropped as a loss, its later packets are ignored, and the next frame
// assembles.
func TestAssemblerBoundsAFrame(t *testing.T) {
	a := mustAssembler(t, "video/VP8", time.Hour)
	var got []emitted
	emit := func(d []byte, loss bool) { got = append(got, emitted{d, loss}) }
	now := time.Unix(0, 0)
	for i := range 3 * maxFramePackets {
		a.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: 0}, Payload: []byte{0x10, 0, byte(i)}}, now, emit)
		for _, f := range a.pending {
			if len(f.pkts) > maxFramePackets {
				t.Fatalf("%d packets held for one frame", len(f.pkts))
			}
		}
	}
	for _, p := range vp8Packets(1, uint16(3*maxFramePackets), 2) {
		a.Push(p, now, emit)
	}
	if len(got) != 1 || !got[0].loss || !bytes.Equal(got[0].data, frameData(1, 2)) {
		t.Fatalf("emitted %v, want frame 1 after a loss", got)
	}
}
