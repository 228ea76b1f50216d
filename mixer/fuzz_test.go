package mixer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/mcu-project/mcu/media"
)

// Fuzz input layout (a short, lenient byte format so the fuzzer can mutate
// it freely; missing bytes read as zero):
//
//	[0]  number of inputs, 1..8 (n % 9, 0 read as 1)
//	[1]  pattern length L, 1..32 (L % 33, 0 read as 1)
//	then per input: flags (bit 0 muted, bit 1 absent), gain as int8 dB
//	(out-of-range gains must be rejected and leave 0 dB), L int16 LE samples.
const (
	fuzzMaxInputs  = 8
	fuzzMaxPattern = 32
)

func encodeCase(c mixCase) []byte {
	l := len(c.inputs[0].samples)
	b := []byte{byte(len(c.inputs)), byte(l)}
	for _, in := range c.inputs {
		var flags byte
		if in.muted {
			flags |= 1
		}
		if in.absent {
			flags |= 2
		}
		b = append(b, flags, byte(int8(in.gainDB)))
		for _, s := range in.samples {
			b = binary.LittleEndian.AppendUint16(b, uint16(s))
		}
	}
	return b
}

type byteReader []byte

func (r *byteReader) byte() byte {
	if len(*r) == 0 {
		return 0
	}
	v := (*r)[0]
	*r = (*r)[1:]
	return v
}

func decodeCase(data []byte) []inCase {
	r := byteReader(data)
	n := int(r.byte()) % (fuzzMaxInputs + 1)
	l := int(r.byte()) % (fuzzMaxPattern + 1)
	n, l = max(n, 1), max(l, 1)
	ins := make([]inCase, n)
	for k := range ins {
		flags := r.byte()
		ins[k] = inCase{
			muted:   flags&1 != 0,
			absent:  flags&2 != 0,
			gainDB:  float64(int8(r.byte())),
			samples: make([]int16, l),
		}
		for i := range ins[k].samples {
			lo := r.byte()
			ins[k].samples[i] = int16(uint16(lo) | uint16(r.byte())<<8)
		}
	}
	return ins
}

// refContribution is the documented gain formula, written out again
// independently of the mixer's code.
func refContribution(s int16, gainDB float64) int32 {
	g := int64(math.Round(math.Pow(10, gainDB/20) * 65536))
	return int32((int64(s)*g + 32768) >> 16)
}

func sign(v int32) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// checkOutput asserts the limiter invariants of one output against its
// pre-limit sums: no wrap (sign kept), within full scale, identity below
// the knee, monotonic in the pre-limit sum.
func checkOutput(t *testing.T, what string, pre []int32, out *media.AudioFrame) {
	t.Helper()
	for i, s := range out.Samples {
		p := pre[i%len(pre)]
		if sign(int32(s)) != sign(p) {
			t.Fatalf("%s: sample %d: pre-limit %d became %d (wrapped)", what, i, p, s)
		}
		if s > FullScale || s < -FullScale {
			t.Fatalf("%s: sample %d = %d beyond full scale", what, i, s)
		}
		if p >= -Knee && p <= Knee && int32(s) != p {
			t.Fatalf("%s: sample %d: %d below the knee came out %d", what, i, p, s)
		}
	}
	for i := range pre {
		for j := range pre {
			if pre[i] < pre[j] && out.Samples[i] > out.Samples[j] {
				t.Fatalf("%s: not monotonic: %d→%d but %d→%d", what, pre[i], out.Samples[i], pre[j], out.Samples[j])
			}
		}
	}
}

func FuzzMix(f *testing.F) {
	for _, c := range mixCases {
		f.Add(encodeCase(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cases := decodeCase(data)
		l := len(cases[0].samples)
		m, err := New(DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		ins := make([]*Input, len(cases))
		own := make([][]int32, len(cases)) // reference contributions
		total := make([]int32, l)          // reference pre-limit sum
		contributors := 0
		for k, c := range cases {
			in := m.Add(media.ParticipantID(fmt.Sprint(k)))
			fillPattern(in.Frame(), c.samples)
			gain := c.gainDB
			if err := in.SetGainDB(c.gainDB); err != nil {
				if !errors.Is(err, ErrGainOutOfRange) || (gain >= MinGainDB && gain <= MaxGainDB) {
					t.Fatalf("SetGainDB(%v) = %v", gain, err)
				}
				gain = 0
			}
			in.SetMuted(c.muted)
			in.SetPresent(!c.absent)
			ins[k] = in
			own[k] = make([]int32, l)
			if c.muted || c.absent {
				continue
			}
			contributors++
			for i, s := range c.samples {
				own[k][i] = refContribution(s, gain)
				total[i] += own[k][i]
			}
		}
		st := m.Mix(t0)
		if st.Mixed != contributors {
			t.Fatalf("Mixed %d, want %d", st.Mixed, contributors)
		}
		for i, v := range m.total {
			if v != total[i%l] {
				t.Fatalf("pre-limit sum sample %d = %d, want %d", i, v, total[i%l])
			}
		}
		var out media.AudioFrame
		m.MixAll(&out)
		checkOutput(t, "MixAll", total, &out)
		pre := make([]int32, l)
		for k, in := range ins {
			for i := range pre {
				pre[i] = total[i] - own[k][i]
			}
			m.MixMinus(in, &out)
			checkOutput(t, fmt.Sprintf("MixMinus(%d)", k), pre, &out)
			if contributors == 1 && in.contributing && out != (media.AudioFrame{}) {
				t.Fatalf("lone input %d hears %v, want silence", k, out.Samples[:l])
			}
		}
	})
}
