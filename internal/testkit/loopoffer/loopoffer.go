// Package loopoffer makes the SDP offer of a pion client on loopback, for
// tests of what a server answers to a real offer (transport's and
// cmd/mcu's alike; pionclient, which imports transport, cannot host it).
package loopoffer

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// New returns a client (closed when the test ends) and its offer, ICE
// gathered on loopback: audio sendrecv, plus video when withVideo.
func New(tb testing.TB, withVideo bool) (*webrtc.PeerConnection, string) {
	tb.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = pc.Close() })
	kinds := []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}
	if withVideo {
		kinds = append(kinds, webrtc.RTPCodecTypeVideo)
	}
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k); err != nil {
			tb.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-done
	return pc, pc.LocalDescription().SDP
}
