package transport

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/transport/jitter"
	"github.com/pion/rtp"
)

// testObserver is an observer with its own counters and a silent log.
func testObserver() observer {
	return observer{stats: &counters{}, sampled: newSampledLog(sampleEvery, time.Now), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// TestAudioInSSRCChange: a packet from another SSRC starts the playout
// buffer afresh, even when its sequence number would continue the old
// stream; the same SSRC keeps what is buffered.
func TestAudioInSSRCChange(t *testing.T) {
	tests := []struct {
		name        string
		secondSSRC  uint32
		wantFlushed uint64 // packets of the first stream dropped
		wantFirst   byte   // the first payload played
	}{
		{"same SSRC continues", 0x1111, 0, 'a'},
		{"new SSRC resets", 0x2222, 2, 'b'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newAudioIn(jitter.DefaultConfig(), testObserver())
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Unix(4000, 0)
			push := func(ssrc uint32, seq uint16, payload byte, at time.Duration) {
				a.push(&rtp.Packet{Header: rtp.Header{SSRC: ssrc, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{payload}}, t0.Add(at))
			}
			push(0x1111, 100, 'a', 0)
			push(0x1111, 101, 'a', 20*time.Millisecond)
			push(tt.secondSSRC, 102, 'b', 40*time.Millisecond)
			if got := a.jb.Stats().DroppedResync; got != tt.wantFlushed {
				t.Errorf("%d packets flushed, want %d", got, tt.wantFlushed)
			}
			got := a.ReadAudio(t0.Add(time.Second))
			if got.Status != media.PacketOK || len(got.Payload) != 1 || got.Payload[0] != tt.wantFirst {
				t.Errorf("first playout %+v, want the packet %q", got, tt.wantFirst)
			}
		})
	}
}

// TestAudioInBadRTP: what does not parse as RTP is counted in the
// engine's counters and not reported as a packet.
func TestAudioInBadRTP(t *testing.T) {
	obs := testObserver()
	a, err := newAudioIn(jitter.DefaultConfig(), obs)
	if err != nil {
		t.Fatal(err)
	}
	good, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: 7}, Payload: []byte{1, 2}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var pkt rtp.Packet
	for _, tt := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"RTP", good, true},
		{"too short", []byte{0x80, 0, 1}, false},
		{"empty", nil, false},
		{"CSRC count beyond the packet", []byte{0x8f, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, false},
	} {
		if got := a.parse(&pkt, tt.b); got != tt.ok {
			t.Errorf("%s: parse = %v, want %v", tt.name, got, tt.ok)
		}
	}
	if got := obs.stats.badRTP.Load(); got != 3 {
		t.Errorf("%d bad packets counted, want 3", got)
	}
}
