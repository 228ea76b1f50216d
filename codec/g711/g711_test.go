package g711_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/g711"
)

var laws = []g711.Law{g711.ULaw, g711.ALaw}

func TestConformance(t *testing.T) {
	var r codec.Registry
	if err := g711.Register(&r); err != nil {
		t.Fatal(err)
	}
	if err := g711.Register(&r); !errors.Is(err, codec.ErrDuplicate) {
		t.Fatalf("second Register: %v", err)
	}
	for _, mime := range []string{"audio/pcmu", "AUDIO/PCMA"} {
		t.Run(mime, func(t *testing.T) {
			c, err := r.Audio(mime)
			if err != nil {
				t.Fatal(err)
			}
			if c.ClockRate != 8000 {
				t.Fatalf("clock rate %d", c.ClockRate)
			}
			codectest.RunAudio(t, c)
		})
	}
}

func TestLaw(t *testing.T) {
	if g711.ULaw.MimeType() != g711.MimeTypePCMU || g711.ALaw.MimeType() != g711.MimeTypePCMA || g711.LawUnknown.MimeType() != "" {
		t.Fatal("MimeType")
	}
	if _, err := g711.NewDecoder(g711.LawUnknown); !errors.Is(err, codec.ErrBadInput) {
		t.Fatalf("NewDecoder(LawUnknown): %v", err)
	}
	if _, err := g711.NewEncoder(g711.Law(9)); !errors.Is(err, codec.ErrBadInput) {
		t.Fatalf("NewEncoder(9): %v", err)
	}
}

// tone48 fills pcm with amp·sin(2π·f·t) at 48 kHz from sample start.
func tone48(pcm []int16, f, amp float64, start int) { codectest.Tone(pcm, f, amp, start) }

// measure fits DC + a·sin + b·cos at f Hz to x (rate Hz). x must span
// whole periods of f, where the least-squares fit reduces to projections.
// It returns the tone's amplitude and its power over the residual's.
func measure(x []int16, f, rate float64) (amp, snrDB float64) {
	w := 2 * math.Pi * f / rate
	var dc, a, b float64
	for i, v := range x {
		dc += float64(v)
		a += float64(v) * math.Sin(w*float64(i))
		b += float64(v) * math.Cos(w*float64(i))
	}
	n := float64(len(x))
	dc, a, b = dc/n, 2*a/n, 2*b/n
	var res float64
	for i, v := range x {
		d := float64(v) - dc - a*math.Sin(w*float64(i)) - b*math.Cos(w*float64(i))
		res += d * d
	}
	amp = math.Hypot(a, b)
	return amp, 10 * math.Log10(amp*amp/2/(res/n))
}

// TestToneLevelAndSNR: a tone at −6 dBFS through Encoder and Decoder
// (48→8 kHz, G.711, 8→48 kHz) comes back at the same level within 0.5 dB,
// with G.711's SNR (tone against everything else, by least-squares fit,
// over 800 ms after the first 200 ms). 1 kHz is what the brief asks; but at
// 8 kHz it only ever samples 8 phases of the sine, so its quantisation error
// is a few fixed harmonics, not noise: the ITU test tone 1020 Hz avoids that
// and shows the usual figure.
func TestToneLevelAndSNR(t *testing.T) {
	const amp = 16384
	for _, law := range laws {
		for _, freq := range []float64{1000, 1020} {
			t.Run(fmt.Sprintf("%s/%.0fHz", law, freq), func(t *testing.T) {
				enc, _ := g711.NewEncoder(law)
				dec, _ := g711.NewDecoder(law)
				defer enc.Close()
				defer dec.Close()
				in, pkt, out := make([]int16, 960), make([]byte, 160), make([]int16, 960)
				var got []int16
				for f := range 50 {
					tone48(in, freq, amp, f*960)
					n, err := enc.Encode(in, pkt)
					if err != nil || n != 160 {
						t.Fatalf("encode: %d, %v", n, err)
					}
					m, err := dec.Decode(pkt[:n], out)
					if err != nil || m != 960 {
						t.Fatalf("decode: %d, %v", m, err)
					}
					got = append(got, out...)
				}
				a, snr := measure(got[9600:], freq, 48000)
				level := 20 * math.Log10(a/amp)

				// The same tone coded at 8 kHz alone, for reference.
				enc8, dec8 := g711.EncodeULaw, g711.DecodeULaw
				if law == g711.ALaw {
					enc8, dec8 = g711.EncodeALaw, g711.DecodeALaw
				}
				x := make([]int16, 8000)
				for i := range x {
					x[i] = dec8(enc8(int16(amp * math.Sin(2*math.Pi*freq*float64(i)/8000))))
				}
				_, snr8 := measure(x, freq, 8000)
				t.Logf("%s, %.0f Hz at −6 dBFS: level %+.3f dB, SNR %.1f dB at 48 kHz (%.1f dB for G.711 alone at 8 kHz)", law, freq, level, snr, snr8)
				if math.Abs(level) > 0.5 {
					t.Errorf("level %+.2f dB", level)
				}
				if snr < 30 {
					t.Errorf("SNR %.1f dB, want ≥ 30", snr)
				}
			})
		}
	}
}

// packets8k returns n 20 ms packets of a tone at 8 kHz, starting at packet
// first (so phases continue across calls).
func packets8k(law g711.Law, f, amp float64, first, n int) [][]byte {
	enc := g711.EncodeULaw
	if law == g711.ALaw {
		enc = g711.EncodeALaw
	}
	var pkts [][]byte
	for p := first; p < first+n; p++ {
		b := make([]byte, 160)
		for i := range b {
			b[i] = enc(int16(math.Round(amp * math.Sin(2*math.Pi*f*float64(p*160+i)/8000))))
		}
		pkts = append(pkts, b)
	}
	return pkts
}

func maxStep(x []int16) int {
	m := 0
	for i := 1; i < len(x); i++ {
		m = max(m, abs(int(x[i])-int(x[i-1])))
	}
	return m
}

func abs(x int) int { return max(x, -x) }

func decodeAll(t *testing.T, d *g711.Decoder, pkts [][]byte) []int16 {
	t.Helper()
	var all []int16
	out := make([]int16, 960)
	for _, p := range pkts {
		n, err := d.Decode(p, out)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out[:n]...)
	}
	return all
}

// TestConcealFade: after a tone, concealment repeats it at full level for
// the first 10 ms, fades it out without clicks, and is exactly silent from
// 64 ms (60 ms fade plus the 4 ms the upsampling filter spans); audio coming
// back fades in without a click.
func TestConcealFade(t *testing.T) {
	const amp = 8000
	for _, law := range laws {
		t.Run(law.String(), func(t *testing.T) {
			d, _ := g711.NewDecoder(law)
			defer d.Close()
			before := decodeAll(t, d, packets8k(law, 1000, amp, 0, 10))
			ref, _ := measure(before[len(before)-960:], 1000, 48000)
			smooth := maxStep(before[len(before)-960:])

			lost := make([]int16, 5*960) // 100 ms in 20 ms calls
			for f := range 5 {
				if err := d.Conceal(lost[f*960 : (f+1)*960]); err != nil {
					t.Fatal(err)
				}
			}
			var levels []float64
			for b := 0; b+480 <= len(lost); b += 480 {
				a, _ := measure(lost[b:b+480], 1000, 48000)
				levels = append(levels, 20*math.Log10(max(a, 1e-3)/ref))
			}
			t.Logf("levels per 10 ms of concealment (dB): %.1f", levels)
			if math.Abs(levels[0]) > 0.5 {
				t.Errorf("first 10 ms at %+.2f dB, want the tone held", levels[0])
			}
			for i := 1; i < len(levels); i++ {
				if levels[i] > levels[i-1]+0.1 {
					t.Errorf("level rises from %.1f to %.1f dB at %d ms", levels[i-1], levels[i], 10*i)
				}
			}
			// Gain 1 to 10 ms, then linear to 0 at 60 ms, seen 2 ms late:
			// about −5.4 dB over 30–40 ms, −17 dB over 50–60 ms.
			if levels[3] > -4 || levels[5] > -12 || levels[6] > -30 {
				t.Errorf("not fading: %.1f dB at 30 ms, %.1f dB at 50 ms, %.1f dB at 60 ms", levels[3], levels[5], levels[6])
			}
			for i, v := range lost[64*48:] {
				if v != 0 {
					t.Fatalf("sample %d (%.2f ms) = %d, want silence after 64 ms", 64*48+i, float64(64*48+i)/48, v)
				}
			}
			joined := append(before[len(before)-960:], lost...)
			if s := maxStep(joined); float64(s) > 1.2*float64(smooth) {
				t.Errorf("click into concealment: step %d, the tone's own %d", s, smooth)
			}
			after := decodeAll(t, d, packets8k(law, 1000, amp, 15, 5))
			if s := maxStep(append(lost[len(lost)-960:], after...)); float64(s) > 1.2*float64(smooth) {
				t.Errorf("click out of concealment: step %d, the tone's own %d", s, smooth)
			}
			if a, _ := measure(after[2*960:], 1000, 48000); math.Abs(20*math.Log10(a/ref)) > 0.1 {
				t.Errorf("tone back at %.2f dB", 20*math.Log10(a/ref))
			}
		})
	}
}

// TestConcealShortLoss: one lost packet of a steady tone is bridged by the
// repeated period and cross-faded back into the real signal seamlessly.
func TestConcealShortLoss(t *testing.T) {
	const amp = 8000
	d, _ := g711.NewDecoder(g711.ULaw)
	defer d.Close()
	pkts := packets8k(g711.ULaw, 1000, amp, 0, 20)
	all := decodeAll(t, d, pkts[:10])
	smooth := maxStep(all)
	gap := make([]int16, 960)
	if err := d.Conceal(gap); err != nil {
		t.Fatal(err)
	}
	all = append(all, gap...)
	all = append(all, decodeAll(t, d, pkts[11:])...)
	if s := maxStep(all); float64(s) > 1.05*float64(smooth) {
		t.Errorf("step %d across the loss, the tone's own %d", s, smooth)
	}
	a, _ := measure(all[9*960:13*960], 1000, 48000)
	ref, _ := measure(all[5*960:9*960], 1000, 48000)
	if db := 20 * math.Log10(a/ref); math.Abs(db) > 0.5 {
		t.Errorf("tone across the loss at %+.2f dB", db)
	}
}

// TestConcealLength: Conceal fills exactly len(pcm), whatever the length.
func TestConcealLength(t *testing.T) {
	for _, n := range []int{1, 5, 6, 7, 959, 960, 961, 2000, 5760} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			d, _ := g711.NewDecoder(g711.ALaw)
			defer d.Close()
			decodeAll(t, d, packets8k(g711.ALaw, 440, 8000, 0, 5))
			pcm := make([]int16, n+10)
			for i := range pcm {
				pcm[i] = math.MinInt16 // a value the concealed tone never takes
			}
			if err := d.Conceal(pcm[:n]); err != nil {
				t.Fatal(err)
			}
			for i, v := range pcm {
				if (i < n) == (v == math.MinInt16) {
					t.Fatalf("sample %d = %d after Conceal of %d", i, v, n)
				}
			}
		})
	}
	d, _ := g711.NewDecoder(g711.ULaw)
	pcm := []int16{1, 2, 3}
	if err := d.Conceal(pcm); err != nil || pcm[0]|pcm[1]|pcm[2] != 0 {
		t.Fatalf("concealing with no history: %v %v, want silence", pcm, err)
	}
	if err := d.Conceal(nil); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := d.Conceal(pcm); !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("Conceal after Close: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	d, _ := g711.NewDecoder(g711.ULaw)
	defer d.Close()
	if _, err := d.Decode(make([]byte, 160), make([]int16, 959)); !errors.Is(err, codec.ErrBadInput) {
		t.Fatalf("short pcm: %v", err)
	}
	if n, err := d.Decode([]byte{0xFF}, make([]int16, 6)); err != nil || n != 6 {
		t.Fatalf("one byte: %d, %v", n, err)
	}
	if n, err := d.Decode(make([]byte, 400), make([]int16, 2400)); err != nil || n != 2400 {
		t.Fatalf("50 ms packet: %d, %v", n, err)
	}
	e, _ := g711.NewEncoder(g711.ALaw)
	defer e.Close()
	for _, n := range []int{0, 959, 961, 1920} {
		if _, err := e.Encode(make([]int16, n), make([]byte, 160)); !errors.Is(err, codec.ErrBadInput) {
			t.Fatalf("%d samples: %v", n, err)
		}
	}
	if _, err := e.Encode(make([]int16, 960), make([]byte, 159)); !errors.Is(err, codec.ErrBadInput) {
		t.Fatalf("short out: %v", err)
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, law := range laws {
		e, _ := g711.NewEncoder(law)
		d, _ := g711.NewDecoder(law)
		pcm, pkt := make([]int16, 960), make([]byte, 160)
		tone48(pcm, 1000, 8000, 0)
		if a := testing.AllocsPerRun(50, func() {
			n, _ := e.Encode(pcm, pkt)
			d.Decode(pkt[:n], pcm)
			d.Conceal(pcm)
		}); a != 0 {
			t.Errorf("%s: %.1f allocations per frame", law, a)
		}
	}
}

// FuzzDecode: any payload decodes (or, when empty, fails) without panicking,
// to exactly six samples per byte, interleaved with concealment of any
// length.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{}, uint8(0), uint16(960))
	f.Add([]byte{0xFF}, uint8(1), uint16(1))
	f.Add([]byte{0x00, 0x7F, 0x80, 0xFF, 0x55, 0xD5, 0x2A, 0xAA}, uint8(0), uint16(7))
	f.Add(make([]byte, 3000), uint8(1), uint16(5760))
	f.Fuzz(func(t *testing.T, payload []byte, lawBit uint8, conceal uint16) {
		law := laws[lawBit&1]
		d, err := g711.NewDecoder(law)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		pcm := make([]int16, 6*len(payload)+int(conceal))
		for range 2 {
			n, err := d.Decode(payload, pcm)
			if len(payload) == 0 {
				if !errors.Is(err, codec.ErrBadInput) {
					t.Fatalf("empty payload: %v", err)
				}
			} else if err != nil || n != 6*len(payload) {
				t.Fatalf("%d bytes: %d samples, %v", len(payload), n, err)
			}
			if err := d.Conceal(pcm[:conceal]); err != nil {
				t.Fatal(err)
			}
		}
		if len(payload) > 0 {
			if _, err := d.Decode(payload, pcm[:6*len(payload)-1]); !errors.Is(err, codec.ErrBadInput) {
				t.Fatalf("short pcm: %v", err)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	for _, law := range laws {
		b.Run(law.MimeType()[6:], func(b *testing.B) {
			e, _ := g711.NewEncoder(law)
			pcm, pkt := make([]int16, 960), make([]byte, 160)
			tone48(pcm, 1000, 8000, 0)
			b.ReportAllocs()
			for b.Loop() {
				e.Encode(pcm, pkt)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, law := range laws {
		b.Run(law.MimeType()[6:], func(b *testing.B) {
			d, _ := g711.NewDecoder(law)
			pkt, pcm := packets8k(law, 1000, 8000, 0, 1)[0], make([]int16, 960)
			b.ReportAllocs()
			for b.Loop() {
				d.Decode(pkt, pcm)
			}
		})
	}
}

func BenchmarkConceal(b *testing.B) {
	d, _ := g711.NewDecoder(g711.ULaw)
	pkt, pcm := packets8k(g711.ULaw, 1000, 8000, 0, 1)[0], make([]int16, 960)
	b.ReportAllocs()
	for b.Loop() {
		d.Decode(pkt, pcm) // so each Conceal starts a loss (pitch search)
		d.Conceal(pcm)
	}
}

// BenchmarkLaw is the companding alone, 160 samples (one 20 ms frame).
func BenchmarkLaw(b *testing.B) {
	s := make([]int16, 160)
	for i := range s {
		s[i] = int16(i*409 - 32768)
	}
	out := make([]byte, 160)
	b.Run("EncodeULaw", func(b *testing.B) {
		for b.Loop() {
			for i, v := range s {
				out[i] = g711.EncodeULaw(v)
			}
		}
	})
	b.Run("EncodeALaw", func(b *testing.B) {
		for b.Loop() {
			for i, v := range s {
				out[i] = g711.EncodeALaw(v)
			}
		}
	})
}
