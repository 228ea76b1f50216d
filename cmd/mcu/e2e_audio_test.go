package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

func dB(ratio float64) float64 { return 20 * math.Log10(math.Max(ratio, 1e-12)) }

// toneLevel is the level of hz in pcm relative to amplitude amp, in dB: the
// mean power of Goertzel over 100 ms blocks (a whole number of cycles for
// tones on a 10 Hz grid). Measuring block by block keeps a legitimate
// timing discontinuity — the jitter buffer adapting, a concealed frame —
// from cancelling the tone across a long window, as one coherent Goertzel
// would.
func toneLevel(pcm []int16, hz, amp float64) float64 {
	const block = 4800
	var power float64
	var n int
	for i := 0; i+block <= len(pcm); i += block {
		a := codectest.Goertzel(pcm[i:i+block], hz) / amp
		power += a * a
		n++
	}
	if n == 0 {
		return dB(0)
	}
	return 10 * math.Log10(math.Max(power/float64(n), 1e-24))
}

// joinAll joins one pion client per tone and waits until each is
// connected; with, if given, sets more options on each.
func joinAll(t *testing.T, s *testServer, room string, tones []float64, amp float64, with ...func(*pionclient.Options)) []*pionclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var clients []*pionclient.Client
	for i, hz := range tones {
		opts := pionclient.Options{BaseURL: s.URL, Room: room, Name: fmt.Sprintf("p%d", i), ToneHz: hz, ToneAmp: amp}
		for _, f := range with {
			f(&opts)
		}
		c, err := pionclient.Join(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		clients = append(clients, c)
	}
	for _, c := range clients {
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return clients
}

// requireMixMinus checks what each client heard in [from, to) (a second):
// every other client's tone at the level sent (±3 dB), its own at least
// 30 dB below them.
func requireMixMinus(t *testing.T, clients []*pionclient.Client, tones []float64, amp float64, from, to time.Time) {
	t.Helper()
	for i, c := range clients {
		pcm := c.Received(from, to)
		if len(pcm) < 40*960 {
			t.Fatalf("client %d received only %d samples in 1 s", i, len(pcm))
		}
		var others []float64
		for j, hz := range tones {
			level := toneLevel(pcm, hz, amp)
			t.Logf("client %d hears %4.0f Hz at %+.2f dB re sent", i, hz, level)
			if j == i {
				continue
			}
			others = append(others, level)
			if math.Abs(level) > 3 {
				t.Errorf("client %d hears %v Hz at %+.2f dB, want within ±3 dB of what was sent", i, hz, level)
			}
		}
		own := toneLevel(pcm, tones[i], amp)
		for _, o := range others {
			if o-own < 30 {
				t.Errorf("client %d hears itself at %+.1f dB, only %.1f dB below the others", i, own, o-own)
			}
		}
	}
}

// TestThreeWayMix: each of three participants sends its own tone and must
// hear the other two at the level sent (±3 dB) and itself at least 30 dB
// below them; a participant that leaves is gone from the mix within 200 ms.
func TestThreeWayMix(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC test")
	}
	s := startServer(t)
	tones := []float64{440, 770, 1230}
	const amp = 8192 // -12 dBFS peak each; two of them never reach the limiter knee
	clients := joinAll(t, s, "mix", tones, amp)

	// Once everyone hears the others, let buffers and codecs settle, then
	// listen for a second.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for i, c := range clients {
		for j, hz := range tones {
			if j != i {
				if err := waitHearing(ctx, c, hz, amp); err != nil {
					t.Fatalf("client %d: %v", i, err)
				}
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	from := time.Now()
	time.Sleep(time.Second)
	to := time.Now()
	t.Logf("server: %v ticks, %v late, %v frames concealed", s.metric(t, "mcu_mix_ticks_total"), s.metric(t, "mcu_mix_ticks_late_total"), s.metric(t, "mcu_audio_concealed_frames_total"))
	// Every decoded packet's wait is observed; on loopback it is the
	// mixing clock's phase plus a little jitter, below the 100 ms cap.
	waits, waited := s.metric(t, "mcu_audio_playout_wait_seconds_count"), s.metric(t, "mcu_audio_playout_wait_seconds_sum")
	if mean := waited / waits; waits < 100 || mean <= 0 || mean > 0.1 {
		t.Errorf("playout waits: %v packets, mean %.1f ms", waits, 1000*mean)
	} else {
		t.Logf("playout wait: mean %.1f ms over %v packets", 1000*mean, waits)
	}
	requireMixMinus(t, clients, tones, amp, from, to)

	// The third leaves; 200 ms later the others must no longer hear it.
	left := time.Now()
	if code, err := clients[2].Leave(ctx); err != nil || code != http.StatusNoContent {
		t.Fatalf("leave: %d %v", code, err)
	}
	time.Sleep(700 * time.Millisecond)
	for i, c := range clients[:2] {
		pcm := c.Received(left.Add(200*time.Millisecond), left.Add(700*time.Millisecond))
		gone := toneLevel(pcm, tones[2], amp)
		stay := toneLevel(pcm, tones[1-i], amp)
		t.Logf("after leave: client %d hears the leaver at %+.1f dB, the other at %+.1f dB", i, gone, stay)
		if gone > -40 || math.Abs(stay) > 3 {
			t.Errorf("client %d: leaver at %+.1f dB (want < -40), remaining at %+.1f dB (want ±3)", i, gone, stay)
		}
	}
	s.waitMetric(t, "mcu_participants", 2, time.Second)
	if code, _ := clients[2].Leave(ctx); code != http.StatusNotFound {
		t.Errorf("second leave: %d, want 404", code)
	}
}
