package opus_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/opus"
)

func TestConformance(t *testing.T) {
	var r codec.Registry
	if err := opus.Register(&r); err != nil {
		t.Fatal(err)
	}
	c, err := r.Audio("AUDIO/OPUS")
	if err != nil {
		t.Fatal(err)
	}
	codectest.RunAudio(t, c)
}

// TestLossRecovery drops one packet of a tone and checks that both PLC and
// FEC fill the gap with the tone rather than silence, FEC more faithfully.
func TestLossRecovery(t *testing.T) {
	enc, err := opus.NewEncoder(codec.EncoderParams{FEC: true, BitrateBps: 64000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if err := enc.SetPacketLossPercent(20); err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	in := make([]int16, 960)
	for f := range 30 {
		codectest.Tone(in, 440, 8000, f*960)
		buf := make([]byte, 1500)
		n, err := enc.Encode(in, buf)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, buf[:n])
	}
	const lost = 20
	for _, mode := range []string{"plc", "fec"} {
		t.Run(mode, func(t *testing.T) {
			dec, err := opus.NewDecoder()
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			out := make([]int16, 960)
			for f := range lost {
				if _, err := dec.Decode(pkts[f], out); err != nil {
					t.Fatal(err)
				}
			}
			if mode == "plc" {
				err = dec.Conceal(out)
			} else {
				err = dec.DecodeFEC(pkts[lost+1], out)
			}
			if err != nil {
				t.Fatal(err)
			}
			amp := codectest.Goertzel(out, 440)
			if db := 20 * math.Log10(amp/8000); db < -6 {
				t.Fatalf("%s recovered the tone at %.1f dB", mode, db)
			}
		})
	}
}

func BenchmarkEncodeDecode(b *testing.B) {
	enc, _ := opus.NewEncoder(codec.EncoderParams{})
	dec, _ := opus.NewDecoder()
	in := make([]int16, 960)
	codectest.Tone(in, 440, 8000, 0)
	pkt := make([]byte, 1500)
	out := make([]int16, 960)
	b.ReportAllocs()
	for b.Loop() {
		n, _ := enc.Encode(in, pkt)
		_, _ = dec.Decode(pkt[:n], out)
	}
}

// TestComplexity: every complexity libopus accepts codes a tone that
// decodes back at its level; one it does not is refused at creation.
func TestComplexity(t *testing.T) {
	for _, c := range []int{1, 5, 10} {
		enc, err := opus.NewEncoder(codec.EncoderParams{Complexity: c})
		if err != nil {
			t.Fatalf("complexity %d: %v", c, err)
		}
		dec, _ := opus.NewDecoder()
		in, out := make([]int16, 960), make([]int16, 960)
		pkt := make([]byte, 1500)
		for f := range 10 {
			codectest.Tone(in, 440, 8000, f*960)
			n, err := enc.Encode(in, pkt)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dec.Decode(pkt[:n], out); err != nil {
				t.Fatal(err)
			}
		}
		if db := 20 * math.Log10(codectest.Goertzel(out, 440)/8000); db < -3 {
			t.Errorf("complexity %d: tone at %.1f dB", c, db)
		}
		enc.Close()
		dec.Close()
	}
	if _, err := opus.NewEncoder(codec.EncoderParams{Complexity: 11}); err == nil {
		t.Fatal("complexity 11 accepted")
	}
}

// BenchmarkEncodeComplexity: what the room option buys, side by side on a
// mix of three voices' worth of tones (the shape of a mixed output).
func BenchmarkEncodeComplexity(b *testing.B) {
	for _, c := range []int{1, 5, 9, 10} {
		b.Run(fmt.Sprintf("complexity=%d", c), func(b *testing.B) {
			enc, _ := opus.NewEncoder(codec.EncoderParams{FEC: true, Complexity: c})
			defer enc.Close()
			frames := make([][]int16, 50)
			for f := range frames {
				frames[f] = make([]int16, 960)
				tmp := make([]int16, 960)
				for _, hz := range []float64{200, 237, 274} {
					codectest.Tone(tmp, hz, 6000, f*960)
					for i, v := range tmp {
						frames[f][i] += v
					}
				}
			}
			pkt := make([]byte, 1500)
			b.ReportAllocs()
			f := 0
			for b.Loop() {
				_, _ = enc.Encode(frames[f%len(frames)], pkt)
				f++
			}
		})
	}
}

// TestExpectedLossSetsLBRR: the encoder puts in-band FEC on the wire while
// it expects loss, and none once told the link loses nothing — what the
// room's receiver-report adaptation relies on.
func TestExpectedLossSetsLBRR(t *testing.T) {
	enc, err := opus.NewEncoder(codec.EncoderParams{FEC: true})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	in := make([]int16, 960)
	buf := make([]byte, 1500)
	frame := 0
	count := func() (with, readable int) {
		var pkts [][]byte
		for range 50 {
			codectest.Speech(in, frame*960)
			frame++
			n, err := enc.Encode(in, buf)
			if err != nil {
				t.Fatal(err)
			}
			pkts = append(pkts, bytes.Clone(buf[:n]))
		}
		return codectest.CountLBRR(pkts)
	}
	for _, c := range []struct {
		pct     int
		wantFEC bool
	}{{opus.InitialLossPercent, true}, {0, false}, {20, true}} {
		if err := enc.SetPacketLossPercent(c.pct); err != nil {
			t.Fatal(err)
		}
		count() // the encoder settles on the new setting
		with, readable := count()
		t.Logf("expected loss %d %%: %d of %d readable packets carry LBRR", c.pct, with, readable)
		if readable < 45 {
			t.Fatalf("expected loss %d %%: only %d of 50 packets are SILK or hybrid", c.pct, readable)
		}
		if got := with > readable/2; got != c.wantFEC {
			t.Errorf("expected loss %d %%: %d of %d packets carry LBRR", c.pct, with, readable)
		}
	}
}

// TestPacketMode reads the mode from every TOC configuration (RFC 6716
// section 3.1: 0–11 SILK-only, 12–15 hybrid, 16–31 CELT-only), whatever
// the stereo flag and frame-count bits, and from what the encoder makes:
// at 8 kb/s it codes speech-band SILK, at 128 kb/s CELT.
func TestPacketMode(t *testing.T) {
	for cfg := range 32 {
		want := opus.ModeSILK
		switch {
		case cfg >= 16:
			want = opus.ModeCELT
		case cfg >= 12:
			want = opus.ModeHybrid
		}
		for low := range 8 {
			if got := opus.PacketMode(byte(cfg<<3 | low)); got != want {
				t.Errorf("config %d (low bits %03b): mode %d, want %d", cfg, low, got, want)
			}
		}
	}
	for _, c := range []struct {
		bps  int
		want opus.Mode
	}{{8000, opus.ModeSILK}, {128000, opus.ModeCELT}} {
		enc, err := opus.NewEncoder(codec.EncoderParams{BitrateBps: c.bps})
		if err != nil {
			t.Fatal(err)
		}
		in, pkt := make([]int16, 960), make([]byte, 1500)
		var n int
		for f := range 25 {
			codectest.Tone(in, 440, 8000, f*960)
			if n, err = enc.Encode(in, pkt); err != nil {
				t.Fatal(err)
			}
		}
		enc.Close()
		if got := opus.PacketMode(pkt[0]); n == 0 || got != c.want {
			t.Errorf("%d b/s: mode %d of a %d-byte packet, want %d", c.bps, got, n, c.want)
		}
	}
}
