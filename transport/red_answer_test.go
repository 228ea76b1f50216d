package transport

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestREDAnswerOpusFirst: an offer that lists red before Opus (an SDK that
// prefers RED) is answered with both, Opus first, so the offerer sends the
// Opus the room decodes, and we send it RED.
func TestREDAnswerOpusFirst(t *testing.T) {
	client := redPreferringClient(t)
	if _, err := client.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^m=audio \S+ \S+ 63 111\r?$`).MatchString(offer.SDP) {
		t.Fatalf("offer does not list red first:\n%s", offer.SDP)
	}
	info, err := parseOffer(offer.SDP)
	if err != nil {
		t.Fatal(err)
	}
	if !info.audioRED {
		t.Fatal("offer's RED not seen")
	}
	eng, err := NewEngine(Config{Interfaces: []string{"lo"}, IncludeLoopback: true, GatherTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	peer, answer, err := eng.negotiate(context.Background(), offer.SDP, info, "")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if !regexp.MustCompile(`(?m)^m=audio \S+ \S+ 111 63\r?$`).MatchString(answer) {
		t.Fatalf("answer does not list Opus then red:\n%s", answer)
	}
	if peer.red == nil {
		t.Fatal("peer sends plain Opus to a receiver that negotiated RED")
	}
}

// redPreferringClient is a loopback pion client (closed when the test ends)
// that offers red before Opus.
func redPreferringClient(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	me := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: redCapability, PayloadType: redPayloadType},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp}, PayloadType: opusPayloadType},
	} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	client, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}
