package transport

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestREDFromSender: a sender that sends RED although the answer lists
// Opus first (a pion sender whose track is RED) is heard: the room reads
// each packet's primary block as a plain Opus frame.
func TestREDFromSender(t *testing.T) {
	client := redPreferringClient(t)
	track, err := webrtc.NewTrackLocalStaticRTP(redCapability, "audio", "red-sender")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	offer, err := client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	info, err := parseOffer(client.LocalDescription().SDP)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(Config{Interfaces: []string{"lo"}, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	peer, answer, err := eng.negotiate(ctx, client.LocalDescription().SDP, info, "")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if !strings.Contains(answer, "a=rtpmap:63 red/48000/2") {
		t.Fatalf("answer has no red:\n%s", answer)
	}
	if err := connect(client, answer); err != nil {
		t.Fatal(err)
	}
	var r redPacketizer
	r.pt = opusPayloadType
	got := map[byte]bool{}
	statuses := map[media.PacketStatus]int{}
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; len(got) < 10 && time.Now().Before(deadline); i++ {
		payload, _ := r.packetize(nil, []byte{0xfc, byte(i), byte(i)}, uint32(960*i), true)
		if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(960 * i)}, Payload: payload}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		for {
			a := peer.ReadAudio(time.Now())
			statuses[a.Status]++
			if a.Status != media.PacketOK {
				break
			}
			if len(a.Payload) != 3 || a.Payload[0] != 0xfc || a.Payload[1] != a.Payload[2] {
				t.Fatalf("room read %v, want a primary block {0xfc, n, n}", a.Payload)
			}
			got[a.Payload[1]] = true
		}
	}
	if len(got) < 10 {
		t.Fatalf("room read %d frames in 5 s, want 10 (playout results %v)", len(got), statuses)
	}
}
