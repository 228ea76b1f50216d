package transport

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// testLimiter returns a limiter and a function that NACKs seqs on a
// stream at now and returns how many it lets through.
func testLimiter(t *testing.T) (*nackLimiter, func(ssrc uint32, seqs []uint16, now time.Time) int) {
	t.Helper()
	i, _ := nackLimiterFactory{}.NewInterceptor("")
	l := i.(*nackLimiter)
	return l, func(ssrc uint32, seqs []uint16, now time.Time) int {
		kept, _ := l.trim([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}}, now)
		got := 0
		for _, p := range kept {
			for _, pair := range p.(*rtcp.TransportLayerNack).Nacks {
				got += len(pair.PacketList())
			}
		}
		return got
	}
}

func seqRange(from, n int) []uint16 {
	seqs := make([]uint16, n)
	for i := range seqs {
		seqs[i] = uint16(from + i)
	}
	return seqs
}

var nopWriter = interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil })

// TestNackLimiterPerStream: each stream's packets earn retransmissions of
// that stream only; a stream that sends nothing (paused video) has none
// left once its saved-up budget is spent, whatever the others send.
func TestNackLimiterPerStream(t *testing.T) {
	l, nack := testLimiter(t)
	audio := l.BindLocalStream(&interceptor.StreamInfo{SSRC: 1}, nopWriter)
	video := l.BindLocalStream(&interceptor.StreamInfo{SSRC: 2}, nopWriter)
	for seq := range uint16(nackWindow) {
		_, _ = video.Write(&rtp.Header{SequenceNumber: seq}, []byte{1}, nil)
	}
	if got := nack(2, seqRange(0, nackWindow), time.Now()); got != nackBurst {
		t.Fatalf("video: %d of %d NACKed packets resent, want the burst %d", got, nackWindow, nackBurst)
	}
	for seq := range uint16(1000) { // 20 s of audio
		_, _ = audio.Write(&rtp.Header{SequenceNumber: seq}, []byte{1}, nil)
	}
	if got := nack(2, seqRange(nackWindow-10, 10), time.Now()); got != 0 {
		t.Fatalf("video that sent nothing had %d packets resent on audio's budget", got)
	}
	if got := nack(1, seqRange(990, 10), time.Now()); got != 10 {
		t.Fatalf("audio: %d of 10 resent, want 10", got)
	}
	if got := nack(3, seqRange(0, 10), time.Now()); got != 0 {
		t.Fatalf("a stream we do not send: %d resent", got)
	}
}

// TestNackLimiterResendsOnlyRecentMedia: padding, packets older than the
// receiver's replay window or than nackMaxAge, and packets never sent are
// not resent; resends do not refresh a packet's age nor earn more.
func TestNackLimiterResendsOnlyRecentMedia(t *testing.T) {
	l, nack := testLimiter(t)
	w := l.BindLocalStream(&interceptor.StreamInfo{SSRC: 7}, nopWriter)
	t0 := time.Now()
	for seq := range uint16(100) {
		h := &rtp.Header{SequenceNumber: seq}
		var payload []byte
		if seq%2 == 1 {
			h.Padding, h.PaddingSize = true, 200 // probe padding: no payload
		} else {
			payload = []byte{1}
		}
		_, _ = w.Write(h, payload, nil)
	}
	for _, c := range []struct {
		what string
		seqs []uint16
		at   time.Time
		want int
	}{
		{"padding", []uint16{91, 93, 95}, t0, 0},
		{"older than the replay window", []uint16{10, 20, 30}, t0, 0},
		{"never sent", []uint16{100, 101}, t0, 0},
		{"older than nackMaxAge", []uint16{90, 92}, t0.Add(nackMaxAge + time.Millisecond), 0},
		{"recent media", []uint16{90, 92, 94}, t0, 3},
	} {
		if got := nack(7, c.seqs, c.at); got != c.want {
			t.Errorf("%s: %d of %d resent, want %d", c.what, got, len(c.seqs), c.want)
		}
	}
	// pion's responder writes a resend through the limiter: it is not a
	// new packet.
	_, _ = w.Write(&rtp.Header{SequenceNumber: 90}, []byte{1}, nil)
	if got := nack(7, []uint16{98}, t0); got != 1 {
		t.Errorf("the newest packet after a resend of an older one: %d resent, want 1", got)
	}
	if got := nack(7, []uint16{90}, t0.Add(nackMaxAge+time.Millisecond)); got != 0 {
		t.Errorf("a resend made an old packet look recent: %d resent", got)
	}
}

// TestNackLimiterRewritesParsedPackets: readers after the limiter (the
// NACK responder) take the parsed packets from the attributes; when a
// reader before it parsed them, they must still see the trimmed NACK.
func TestNackLimiterRewritesParsedPackets(t *testing.T) {
	l, _ := testLimiter(t)
	w := l.BindLocalStream(&interceptor.StreamInfo{SSRC: 7}, nopWriter)
	for seq := range uint16(10) {
		_, _ = w.Write(&rtp.Header{SequenceNumber: seq}, []byte{1}, nil)
	}
	// A NACK the limiter trims, one it drops whole (500 was never sent),
	// and a keyframe request that passes.
	raw, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{3, 600})},
		&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{500})},
		&rtcp.PictureLossIndication{MediaSSRC: 7},
	})
	if err != nil {
		t.Fatal(err)
	}
	earlier := interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n := copy(b, raw)
		a = make(interceptor.Attributes)
		_, err := a.GetRTCPPackets(b[:n]) // as pion's estimator does
		return n, a, err
	})
	b := make([]byte, 1500)
	n, attr, err := l.BindRTCPReader(earlier).Read(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for what, pkts := range map[string][]rtcp.Packet{"buffer": mustUnmarshal(t, b[:n]), "attributes": mustParsed(t, attr, b[:n])} {
		var seqs []uint16
		plis := 0
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				for _, pair := range p.Nacks {
					seqs = append(seqs, pair.PacketList()...)
				}
			case *rtcp.PictureLossIndication:
				plis++
			}
		}
		if len(seqs) != 1 || seqs[0] != 3 || plis != 1 {
			t.Errorf("%s: NACKs for %v and %d PLIs, want [3] and the PLI", what, seqs, plis)
		}
	}
}

func mustUnmarshal(t *testing.T, b []byte) []rtcp.Packet {
	t.Helper()
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

func mustParsed(t *testing.T, a interceptor.Attributes, b []byte) []rtcp.Packet {
	t.Helper()
	pkts, err := a.GetRTCPPackets(b)
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

// TestRetransmissionsGetFreshTransportSequence: in our interceptor order
// a retransmission is numbered afresh for transport-wide feedback (pion's
// default order resent it with its original number, which receivers read
// as a packet from long ago).
func TestRetransmissionsGetFreshTransportSequence(t *testing.T) {
	ir := &interceptor.Registry{}
	if err := (&Engine{}).configureInterceptors(&webrtc.MediaEngine{}, ir); err != nil {
		t.Fatal(err)
	}
	chain, err := ir.Build("")
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	const extID = 3
	var mu sync.Mutex
	var sent []rtp.Header
	wire := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		mu.Lock()
		sent = append(sent, h.Clone())
		mu.Unlock()
		return 0, nil
	})
	info := &interceptor.StreamInfo{SSRC: 9, ClockRate: 90000, MimeType: webrtc.MimeTypeVP8,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: extID}},
		RTCPFeedback:        []interceptor.RTCPFeedback{{Type: "nack"}}}
	w := chain.BindLocalStream(info, wire)
	for seq := uint16(1); seq <= 5; seq++ {
		if _, err := w.Write(&rtp.Header{Version: 2, SSRC: 9, SequenceNumber: seq}, []byte{0x10, 1, 2, 3}, nil); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := rtcp.Marshal([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 9, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{3})}})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	r := chain.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n := 0
		once.Do(func() { n = copy(b, raw) })
		return n, a, nil
	}))
	if _, _, err := r.Read(make([]byte, 1500), nil); err != nil {
		t.Fatal(err)
	}
	twcc := func(h rtp.Header) uint16 {
		var ext rtp.TransportCCExtension
		if err := ext.Unmarshal(h.GetExtension(extID)); err != nil {
			t.Fatalf("packet %d without a transport-wide sequence number: %v", h.SequenceNumber, err)
		}
		return ext.TransportSequence
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := len(sent)
		mu.Unlock()
		if n >= 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 6 {
		t.Fatalf("%d packets on the wire, want the 5 sent and the resend of 3", len(sent))
	}
	resend := sent[5]
	if resend.SequenceNumber != 3 {
		t.Fatalf("resent packet %d, want 3", resend.SequenceNumber)
	}
	if got, first := twcc(resend), twcc(sent[2]); got != twcc(sent[4])+1 {
		t.Errorf("the resend of packet 3 has transport-wide sequence number %d (the original had %d), want a fresh one, %d", got, first, twcc(sent[4])+1)
	}
}
