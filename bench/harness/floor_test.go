package main

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"github.com/mcu-project/mcu/bench/load"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/opus"
)

// TestFloorsAreSane: the floors are positive and grow with the work asked.
func TestFloorsAreSane(t *testing.T) {
	if testing.Short() {
		t.Skip("times real codecs")
	}
	a2, a8 := audioFloor(2, -1, nil, false), audioFloor(8, -1, nil, false)
	v1, v4 := videoFloor(1, 320, 180, 1, 320, 180), videoFloor(4, 320, 180, 4, 320, 180)
	t.Logf("audio 2+2: %.3f, 8+8: %.3f; video 1+1: %.3f, 4+4: %.3f CPU-s per media-second", a2, a8, v1, v4)
	if a2 <= 0 || a8 <= a2 || v1 <= 0 || v4 <= v1 {
		t.Fatalf("floors do not grow with the work: %v %v %v %v", a2, a8, v1, v4)
	}
	if mixed := audioFloor(8, -1, []string{"opus", "PCMU"}, false); mixed <= 0 {
		t.Fatalf("half-PCMU room's floor %.3f", mixed)
	}
}

// TestFloorEncodesEachCodecsMixes: in a room of Opus and PCMU legs, two
// talking, the floor encodes each talker's mix-minus in its own codec and
// the full mix once per codec that a listener hears.
func TestFloorEncodesEachCodecsMixes(t *testing.T) {
	codecs := []string{"opus", "PCMU"}
	codecOf := []int{0, 1, 0, 1}
	streams := make([][][]byte, 4)
	decs := make([]codec.AudioDecoder, 4)
	for i := range streams {
		sound := load.Silence
		if i < 2 {
			sound = load.Voice
		}
		var err error
		if streams[i], err = load.LegLoop(codecs[codecOf[i]], sound, i, 8000); err != nil {
			t.Fatal(err)
		}
		if decs[i], err = newFloorDecoder(codecs[codecOf[i]]); err != nil {
			t.Fatal(err)
		}
		defer decs[i].Close()
	}
	mixes := roomMixes(streams, decs, codecOf, 100, 10)
	for f, m := range mixes {
		got := map[[2]int]bool{}
		for _, e := range m {
			got[[2]int{e.key, e.codec}] = true
		}
		// keys: talkers 0 and 1's mix-minus, then 4+codec for the full mixes
		want := map[[2]int]bool{{0, 0}: true, {1, 1}: true, {4, 0}: true, {5, 1}: true}
		if !maps.Equal(got, want) {
			t.Fatalf("frame %d encodes %v, want %v", f, got, want)
		}
	}
}

// BenchmarkAudioFloor splits the gap between the mcu's codec calls and the
// audio floor into its causes, each one figure of one run (CPU-s per
// media-second, metric "cpu-s/s"): the room's Opus settings timed back to
// back (the floor), the same paced at the 20 ms clock (caches cooled by
// the wait, as every real-time server's are, Janus's too), and the
// encoders at libopus's automatic bitrate, which Janus AudioBridge uses
// unless told one (the harness now tells it the mcu's), and the encoders
// without in-band FEC and DTX, as the Janus participants join.
//
//	go test -run '^$' -bench AudioFloor -benchtime 1x -count 3 ./bench/harness/
func BenchmarkAudioFloor(b *testing.B) {
	for _, n := range []int{4, 8} {
		for _, c := range []struct {
			name string
			o    floorOptions
		}{
			{"room-settings", floorOptions{}},
			{"paced", floorOptions{paced: true}},
			{"libopus-auto-bitrate", floorOptions{bitrate: opusAutoBitrate}},
			{"no-fec-dtx", floorOptions{plain: true}},
		} {
			b.Run(fmt.Sprintf("N=%d/%s", n, c.name), func(b *testing.B) {
				var sum float64
				for range b.N {
					sum += audioFloorWith(n, -1, nil, c.o)
				}
				b.ReportMetric(sum/float64(b.N), "cpu-s/s")
			})
		}
	}
}

// BenchmarkOpusModes times the room's Opus encodes of its own mixes by the
// mode libopus picks for each frame (hybrid or CELT-only: at 40 kb/s it
// chooses by its speech/music analysis of the mix; on steady tones, which
// the load sent before its voices, the choice fell either way from mix to
// mix): what the audio rows' codec cost hangs on. It also reports the share of hybrid frames after each
// encoder's first second, for encoders started on the steady mixes; a
// room's encoders also see each mix begin, and their choice, which holds
// for seconds, differs (the report's hybrid column).
//
//	go test -run '^$' -bench OpusModes -benchtime 1x ./bench/harness/
func BenchmarkOpusModes(b *testing.B) {
	for _, n := range []int{4, 8, 16, 32} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			streams := make([][][]byte, n)
			decs := make([]codec.AudioDecoder, n)
			for i := range n {
				var err error
				if streams[i], err = load.LegLoop("opus", load.Voice, i, opusloop.ToneAmp(n)); err != nil {
					b.Fatal(err)
				}
				if decs[i], err = newFloorDecoder("opus"); err != nil {
					b.Fatal(err)
				}
				defer decs[i].Close()
			}
			mixes := roomMixes(streams, decs, make([]int, n), 100, 50)
			const skip, rounds = 1, 4 // seconds of start-up, then of counting
			var took [3]time.Duration
			var count [3]int
			buf := make([]byte, 1500)
			for range b.N {
				encs := map[int]codec.AudioEncoder{}
				for r := range skip + rounds {
					for _, m := range mixes {
						for _, e := range m {
							enc := encs[e.key]
							if enc == nil {
								var err error
								if enc, err = newFloorEncoder("opus", 0, true); err != nil {
									b.Fatal(err)
								}
								defer enc.Close()
								encs[e.key] = enc
							}
							start := time.Now()
							k, err := enc.Encode(e.pcm, buf)
							el := time.Since(start)
							if err != nil || k == 0 || r < skip {
								continue
							}
							mode := opus.PacketMode(buf[0])
							took[mode] += el
							count[mode]++
						}
					}
				}
			}
			per := func(m opus.Mode) float64 {
				return float64(took[m].Microseconds()) / float64(max(count[m], 1))
			}
			b.ReportMetric(per(opus.ModeHybrid), "µs/hybrid")
			b.ReportMetric(per(opus.ModeCELT), "µs/CELT")
			b.ReportMetric(100*float64(count[opus.ModeHybrid])/float64(max(1, count[0]+count[1]+count[2])), "%hybrid")
		})
	}
}
