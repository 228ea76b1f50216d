package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/internal/testkit/udprelay"
)

// TestREDLossyDownlink: two listeners in one room, each behind a relay
// that drops 15 % of the MCU's RTP toward it. The one that offers RED
// (audio/red over Opus, as Chrome does) gets it in the answer; once its
// receiver reports show the loss, the MCU repeats each previous frame in
// the next packet and the listener recovers most losses from those
// redundant blocks: over 4 s it misses at most a third as many 20 ms frames
// as the listener without RED, which gets plain Opus and misses about
// 15 %.
func TestREDLossyDownlink(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC test")
	}
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const amp, hz = 8192, 600
	sender, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "red", Name: "talker", ToneHz: hz, ToneAmp: amp, SendOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	type listener struct {
		c     *pionclient.Client
		relay *udprelay.Relay
	}
	join := func(name string, red bool, seed uint64) *listener {
		l := &listener{}
		imp := udprelay.Impairment{DownLoss: 0.15, Seed: seed}
		c, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "red", Name: name, RecvOnly: true, Feedback: true, RED: red, Via: viaRelay(t, imp, &l.relay)})
		if err != nil {
			t.Fatal(err)
		}
		l.c = c
		return l
	}
	withRED, plain := join("red", true, 7), join("plain", false, 7)
	defer withRED.c.Close()
	defer plain.c.Close()
	if !strings.Contains(withRED.c.Answer, "red/48000/2") {
		t.Fatalf("answer to a RED offer has no red:\n%s", withRED.c.Answer)
	}
	if strings.Contains(plain.c.Answer, "red/48000") {
		t.Fatalf("answer to an offer without RED has red:\n%s", plain.c.Answer)
	}
	for _, l := range []*listener{withRED, plain} {
		if err := l.c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		if err := waitHearing(ctx, l.c, hz, amp); err != nil {
			t.Fatal(err)
		}
	}
	// Receiver reports come about every second: give the MCU two to
	// learn of the loss.
	time.Sleep(2 * time.Second)
	from := time.Now()
	red0, redundant0, recovered0 := s.metric(t, "mcu_audio_red_packets_total"), s.metric(t, "mcu_audio_red_redundant_packets_total"), withRED.c.RecoveredFrames()
	time.Sleep(4 * time.Second)
	missing := func(l *listener) (missed, expected int) {
		seen := map[uint32]bool{}
		var first, last uint32
		for _, f := range l.c.Frames() {
			if f.At.Before(from) {
				continue
			}
			if len(seen) == 0 || int32(f.TS-first) < 0 {
				first = f.TS
			}
			if len(seen) == 0 || int32(f.TS-last) > 0 {
				last = f.TS
			}
			seen[f.TS] = true
		}
		expected = int((last-first)/960) + 1
		return expected - len(seen), expected
	}
	redMissed, redExpected := missing(withRED)
	plainMissed, plainExpected := missing(plain)
	redPackets, redundant := s.metric(t, "mcu_audio_red_packets_total")-red0, s.metric(t, "mcu_audio_red_redundant_packets_total")-redundant0
	t.Logf("relays dropped %d (RED) and %d (plain) packets; RED listener missed %d of %d frames (%d recovered), plain listener %d of %d; MCU sent %v RED packets, %v with a redundant block",
		withRED.relay.DownDropped.Load(), plain.relay.DownDropped.Load(), redMissed, redExpected, withRED.c.RecoveredFrames()-recovered0, plainMissed, plainExpected, redPackets, redundant)
	if redExpected < 150 || plainExpected < 150 {
		t.Fatalf("listeners got %d and %d frames' span in 4 s, want about 200", redExpected, plainExpected)
	}
	if plainMissed < plainExpected/20 {
		t.Fatalf("plain listener missed only %d of %d frames: loss not in the path", plainMissed, plainExpected)
	}
	if redundant < redPackets*9/10 {
		t.Errorf("%v of %v RED packets carried a redundant block, want nearly all at 15 %% loss", redundant, redPackets)
	}
	if 3*redMissed > plainMissed {
		t.Errorf("RED listener missed %d frames, plain %d: want at most a third", redMissed, plainMissed)
	}
	for _, l := range []*listener{withRED, plain} {
		if err := waitHearing(ctx, l.c, hz, amp); err != nil {
			t.Error(err)
		}
	}
}
