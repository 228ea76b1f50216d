package transport

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// TestNackLimiterPerStream: each stream's packets earn retransmissions of
// that stream only; a stream that sends nothing (paused video) has none
// left once its saved-up budget is spent, whatever the others send.
func TestNackLimiterPerStream(t *testing.T) {
	i, _ := nackLimiterFactory{}.NewInterceptor("")
	l := i.(*nackLimiter)
	nop := interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil })
	audio := l.BindLocalStream(&interceptor.StreamInfo{SSRC: 1}, nop)
	l.BindLocalStream(&interceptor.StreamInfo{SSRC: 2}, nop)
	nack := func(ssrc uint32, n int) int {
		seqs := make([]uint16, n)
		for i := range seqs {
			seqs[i] = uint16(i)
		}
		kept, _ := l.trim([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}})
		got := 0
		for _, p := range kept {
			for _, pair := range p.(*rtcp.TransportLayerNack).Nacks {
				got += len(pair.PacketList())
			}
		}
		return got
	}
	if got := nack(2, 100); got != nackBurst {
		t.Fatalf("video: %d of 100 NACKed packets resent, want the burst %d", got, nackBurst)
	}
	for range 1000 { // 20 s of audio
		_, _ = audio.Write(&rtp.Header{}, nil, nil)
	}
	if got := nack(2, 10); got != 0 {
		t.Fatalf("video that sent nothing had %d packets resent on audio's budget", got)
	}
	if got := nack(1, 10); got != 10 {
		t.Fatalf("audio: %d of 10 resent, want 10", got)
	}
	if got := nack(3, 10); got != 0 {
		t.Fatalf("a stream we do not send: %d resent", got)
	}
}
