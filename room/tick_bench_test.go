package room

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/mixer"
)

// replayPeer hands out the same Opus packet forever and discards output:
// the cost measured is the room's (decode, mix, encode), not a network's.
type replayPeer struct{ pkt []byte }

func (p *replayPeer) ReadAudio(time.Time) media.EncodedAudio {
	return media.EncodedAudio{Status: media.PacketOK, Payload: p.pkt}
}
func (p *replayPeer) WriteAudio([]byte, uint32, time.Time) error { return nil }
func (p *replayPeer) Close() error                               { return nil }

// benchRoom builds a room without its clock goroutines, with n
// participants of whom the first talkers send a tone and the rest silence.
func benchRoom(b testing.TB, n, talkers int) *Room {
	b.Helper()
	var reg codec.Registry
	if err := opus.Register(&reg); err != nil {
		b.Fatal(err)
	}
	opts := DefaultOptions()
	mx, err := mixer.New(opts.Mixer)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := &Room{id: "bench", opts: opts, reg: &reg, log: log, clock: media.SystemClock{}, metrics: noMetrics{},
		stats: &counters{}, onEvent: func(Event) {}, mix: mx, shared: map[string]*sharedMix{}, overrides: map[media.ParticipantID]Layout{}}
	r.pullWork, r.encodeWork = r.pullRange, r.encodeRange
	packet := func(amp float64) []byte {
		enc, _ := opus.NewEncoder(codec.EncoderParams{})
		defer enc.Close()
		pcm := make([]int16, media.FrameSamples)
		out := make([]byte, 1500)
		var size int
		for f := range 5 { // past the encoder's start-up
			for i := range pcm {
				pcm[i] = int16(amp * float64((f*960+i)%96-48) / 48)
			}
			size, _ = enc.Encode(pcm, out)
		}
		return out[:size]
	}
	loud, quiet := packet(6000), packet(0)
	for i := range n {
		pkt := quiet
		if i < talkers {
			pkt = loud
		}
		p := JoinParams{Peer: &replayPeer{pkt}, RecvAudioCodec: opus.MimeType, SendAudioCodec: opus.MimeType}
		pt, err := newParticipant(media.ParticipantID(fmt.Sprint(i)), p, &reg, r.audioParams(), log)
		if err != nil {
			b.Fatal(err)
		}
		pt.in = mx.Add(pt.id)
		r.members = append(r.members, pt)
	}
	b.Cleanup(func() {
		for _, pt := range r.members {
			pt.close()
		}
		for _, sh := range r.shared {
			_ = sh.enc.Close()
		}
	})
	return r
}

// BenchmarkRoomTick is one 20 ms audio tick of a whole room: pull and
// decode every input, mix, and encode and send every output. Everyone
// talking needs a personal encode per participant; with 3 talkers the
// silent majority shares one. The time per op is the tick's wall time, on
// the clock goroutine alone (cores=1) and with the decodes and encodes
// split across the machine's cores (fanout.go), as rooms run.
func BenchmarkRoomTick(b *testing.B) {
	for _, c := range []struct{ n, talkers int }{{10, 10}, {10, 3}, {32, 32}, {50, 50}, {50, 3}} {
		for _, split := range []bool{false, true} {
			cores := 1
			if split {
				cores = runtime.GOMAXPROCS(0)
			}
			b.Run(fmt.Sprintf("N=%d/talking=%d/cores=%d", c.n, c.talkers, cores), func(b *testing.B) {
				benchTick(b, c.n, c.talkers, split)
			})
		}
	}
}

func benchTick(b *testing.B, n, talkers int, split bool) {
	r := benchRoom(b, n, talkers)
	if split {
		r.fan = newFanOut()
		b.Cleanup(r.fan.close)
	}
	at := time.Now()
	for i := range 50 { // warm up: VAD, shared encoder, buffers
		r.tick(int64(i), at)
	}
	b.ReportAllocs()
	tick := int64(50)
	for b.Loop() {
		r.tick(tick, at)
		tick++
	}
}
