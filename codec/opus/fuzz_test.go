package opus_test

import (
	"errors"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/opus"
)

// opusSeeds are real packets: speech with in-band FEC (SILK, LBRR data),
// a loud tone at a high rate (CELT or hybrid), DTX silence, and the same
// frames repacked with the TOC's other frame-count codes (RFC 6716 §3.2).
func opusSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, p := range []struct {
		params codec.EncoderParams
		speech bool
	}{
		{codec.EncoderParams{FEC: true, BitrateBps: 24000}, true},
		{codec.EncoderParams{BitrateBps: 128000}, false},
		{codec.EncoderParams{DTX: true, BitrateBps: 16000}, false},
	} {
		enc, err := opus.NewEncoder(p.params)
		if err != nil {
			tb.Fatal(err)
		}
		if err := enc.SetPacketLossPercent(20); err != nil {
			tb.Fatal(err)
		}
		pcm, buf := make([]int16, 960), make([]byte, 1500)
		for i := range 6 {
			switch {
			case p.speech:
				codectest.Speech(pcm, i*960)
			case p.params.DTX:
				clear(pcm)
			default:
				codectest.Tone(pcm, 1000, 20000, i*960)
			}
			n, err := enc.Encode(pcm, buf)
			if err != nil {
				tb.Fatal(err)
			}
			if i >= 4 { // past the encoder's start-up
				seeds = append(seeds, append([]byte(nil), buf[:n]...))
			}
		}
		_ = enc.Close()
	}
	frame := seeds[0][1:]
	toc := seeds[0][0] &^ 3
	two := append(append([]byte(nil), frame...), frame...)
	seeds = append(seeds,
		append([]byte{toc | 1}, two...),                               // code 1: two equal frames
		append([]byte{toc | 2, byte(len(frame))}, two...),             // code 2: two frames, the first's length given
		append(append([]byte{toc | 3, 0x40 | 2, 3}, two...), 0, 0, 0), // code 3: two CBR frames, 3 bytes of padding
		append([]byte{toc | 3, 0x80 | 2, byte(len(frame))}, two...),   // code 3: two VBR frames
		append([]byte{toc | 3, 0x80 | 0x40 | 48, 0}, two...),          // code 3: 48 frames claimed (960 ms: invalid)
		[]byte{toc},
	)
	return seeds
}

// FuzzDecode: any packet, into any buffer the room may hand over (the
// rest of its carry buffer; the last packet's duration for loss), decodes
// or fails with codec.ErrBadInput without writing past the buffer, and
// in-band FEC recovery and concealment of any length never crash and
// fail only as bad input.
func FuzzDecode(f *testing.F) {
	for i, p := range opusSeeds(f) {
		f.Add(p, uint16(opus.MaxPacketSamples), uint16(960*(i%3)))
	}
	f.Add([]byte{}, uint16(960), uint16(0))
	f.Add([]byte{0xfc, 0xff, 0xfe}, uint16(120), uint16(1))
	f.Fuzz(func(t *testing.T, packet []byte, decodeLen, lostLen uint16) {
		d, err := opus.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		// A guard sample after each buffer shows a write past its end.
		const guard = 0x5a5a
		pcm := make([]int16, int(decodeLen)%(opus.MaxPacketSamples+1)+1)
		pcm[len(pcm)-1] = guard
		dst := pcm[:len(pcm)-1]
		n, err := d.Decode(packet, dst)
		switch {
		case err != nil && !errors.Is(err, codec.ErrBadInput):
			t.Fatalf("decode: %v, not bad input", err)
		case err == nil && (n <= 0 || n > len(dst)):
			t.Fatalf("decoded %d samples into %d", n, len(dst))
		}
		lost := make([]int16, int(lostLen)%(opus.MaxPacketSamples+1)+1)
		lost[len(lost)-1] = guard
		if d.HasFEC(packet) {
			if err := d.DecodeFEC(packet, lost[:len(lost)-1]); err != nil && !errors.Is(err, codec.ErrBadInput) {
				t.Fatalf("FEC: %v, not bad input", err)
			}
		}
		if err := d.Conceal(lost[:len(lost)-1]); err != nil && !errors.Is(err, codec.ErrBadInput) {
			t.Fatalf("concealing %d samples: %v, not bad input", len(lost)-1, err)
		}
		if pcm[len(pcm)-1] != guard || lost[len(lost)-1] != guard {
			t.Fatal("a write past the end of the buffer")
		}
	})
}
