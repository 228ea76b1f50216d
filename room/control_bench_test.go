package room

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/media"
)

// BenchmarkJoinWhileTicking joins a participant into a 50-person room
// whose clock runs for real (everyone talking: 50 decodes and encodes per
// tick), lists the room, and takes the participant out again; it reports
// the join's and the listing's latency, p50 and p99 over b.N, which a
// join or a listing that waited for the tick would stretch to a tick's
// length. Run it with -benchtime 200x.
func BenchmarkJoinWhileTicking(b *testing.B) {
	var reg codec.Registry
	if err := opus.Register(&reg); err != nil {
		b.Fatal(err)
	}
	m, err := NewManager(Config{Registry: &reg, Defaults: DefaultOptions(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	pkt := opusPacket(b, 6000)
	params := JoinParams{Peer: &replayPeer{pkt}, RecvAudioCodec: opus.MimeType, SendAudioCodec: opus.MimeType}
	for range 50 {
		if _, err := m.Join("big", params); err != nil {
			b.Fatal(err)
		}
	}
	r, err := m.Room("big")
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // ticking at full cost
	joins := make([]time.Duration, 0, b.N)
	lists := make([]time.Duration, 0, b.N)
	for b.Loop() {
		params.Peer = &replayPeer{pkt}
		t0 := time.Now()
		id, err := m.Join("big", params)
		t1 := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		if n := len(r.Participants()); n != 51 {
			b.Fatalf("%d listed", n)
		}
		t2 := time.Now()
		joins, lists = append(joins, t1.Sub(t0)), append(lists, t2.Sub(t1))
		if err := m.Leave("big", id); err != nil {
			b.Fatal(err)
		}
		time.Sleep(media.FrameDuration / 3) // joins land at every phase of the tick
	}
	for _, q := range []struct {
		name string
		d    []time.Duration
	}{{"join", joins}, {"list", lists}} {
		slices.Sort(q.d)
		b.ReportMetric(float64(q.d[len(q.d)/2].Microseconds()), fmt.Sprintf("%s-p50-µs", q.name))
		b.ReportMetric(float64(q.d[len(q.d)*99/100].Microseconds()), fmt.Sprintf("%s-p99-µs", q.name))
	}
}

// opusPacket is an Opus packet of a buzz at amplitude amp (0: silence),
// past the encoder's start-up.
func opusPacket(b testing.TB, amp float64) []byte {
	enc, err := opus.NewEncoder(codec.EncoderParams{})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	pcm := make([]int16, media.FrameSamples)
	out := make([]byte, 1500)
	var size int
	for f := range 5 {
		for i := range pcm {
			pcm[i] = int16(amp * float64((f*960+i)%96-48) / 48)
		}
		size, _ = enc.Encode(pcm, out)
	}
	return out[:size]
}
