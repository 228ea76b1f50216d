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
)

// replayPeer hands out the same Opus packet forever and discards output:
// the cost measured is the room's (decode, mix, encode), not a network's.
type replayPeer struct{ pkt []byte }

func (p *replayPeer) ReadAudio(time.Time) media.EncodedAudio {
	return media.EncodedAudio{Status: media.PacketOK, Payload: p.pkt}
}
func (p *replayPeer) WriteAudio([]byte, uint32, time.Time) error { return nil }
func (p *replayPeer) Close() error                               { return nil }

// benchManager is a manager for rooms built without their clock
// goroutines, whose ticks a benchmark or test runs itself.
func benchManager(b testing.TB, register func(*codec.Registry) error) *Manager {
	b.Helper()
	var reg codec.Registry
	if err := register(&reg); err != nil {
		b.Fatal(err)
	}
	m, err := NewManager(Config{Registry: &reg, Defaults: DefaultOptions(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// benchRoom builds a room without its clock goroutines, with n
// participants of whom the first talkers send a tone and the rest silence;
// they are mixed from the first tick.
func benchRoom(b testing.TB, n, talkers int) *Room {
	b.Helper()
	r, err := newRoom("bench", DefaultOptions(), benchManager(b, opus.Register))
	if err != nil {
		b.Fatal(err)
	}
	loud, quiet := opusPacket(b, 6000), opusPacket(b, 0)
	for i := range n {
		pkt := quiet
		if i < talkers {
			pkt = loud
		}
		if _, _, err := r.add(JoinParams{Peer: &replayPeer{pkt}, RecvAudioCodec: opus.MimeType, SendAudioCodec: opus.MimeType}); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		r.shut(false)
		r.audio.close()
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
		r.audio.par = newParallelFor(runtime.GOMAXPROCS(0))
		b.Cleanup(r.audio.par.close)
	}
	at := time.Now()
	for i := range 50 { // warm up: VAD, shared encoder, buffers
		r.audio.tick(int64(i), at)
	}
	b.ReportAllocs()
	tick := int64(50)
	for b.Loop() {
		r.audio.tick(tick, at)
		tick++
	}
}
