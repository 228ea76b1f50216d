package transport

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Stream identities the fuzz seeds refer to: our outgoing audio and video
// streams, and the middle 32 bits of a sender report we sent (for RTT).
const (
	fuzzAudioSSRC = 0xa0d10
	fuzzVideoSSRC = 0x51de0
	fuzzSRNTP     = uint64(0xe1234567_89abcdef)
)

func marshalSeed(tb testing.TB, p interface{ Marshal() ([]byte, error) }) []byte {
	tb.Helper()
	b, err := p.Marshal()
	if err != nil {
		tb.Fatalf("seed %T: %v", p, err)
	}
	return b
}

// rtcpSeeds are real RTCP packets of every kind a receiver sends us: reports
// about our streams (one answering our sender report), keyframe requests,
// NACK, REMB, transport-wide feedback, SDES, BYE, and a compound packet.
func rtcpSeeds(tb testing.TB) [][]byte {
	report := rtcp.ReceptionReport{SSRC: fuzzAudioSSRC, FractionLost: 64, TotalLost: 12, LastSequenceNumber: 500, Jitter: 30,
		LastSenderReport: uint32(fuzzSRNTP >> 16 & 0xffffffff), Delay: 65536 / 50}
	rr := &rtcp.ReceiverReport{SSRC: 0x1234, Reports: []rtcp.ReceptionReport{report, {SSRC: fuzzVideoSSRC, FractionLost: 20}}}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 0x1234, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "gateway"}}}}}
	compound, err := rtcp.Marshal([]rtcp.Packet{rr, sdes})
	if err != nil {
		tb.Fatal(err)
	}
	return [][]byte{
		marshalSeed(tb, rr),
		marshalSeed(tb, &rtcp.SenderReport{SSRC: 0x1234, NTPTime: 1 << 40, RTPTime: 960, PacketCount: 10, OctetCount: 1600, Reports: []rtcp.ReceptionReport{report}}),
		marshalSeed(tb, &rtcp.PictureLossIndication{SenderSSRC: 0x1234, MediaSSRC: fuzzVideoSSRC}),
		marshalSeed(tb, &rtcp.FullIntraRequest{SenderSSRC: 0x1234, MediaSSRC: fuzzVideoSSRC, FIR: []rtcp.FIREntry{{SSRC: fuzzVideoSSRC, SequenceNumber: 3}}}),
		marshalSeed(tb, &rtcp.TransportLayerNack{SenderSSRC: 0x1234, MediaSSRC: fuzzVideoSSRC, Nacks: []rtcp.NackPair{{PacketID: 100, LostPackets: 0b101}}}),
		marshalSeed(tb, &rtcp.TransportLayerNack{SenderSSRC: 0x1234, MediaSSRC: fuzzVideoSSRC, Nacks: []rtcp.NackPair{{PacketID: 2, LostPackets: 0b1000_0101}}}),
		marshalSeed(tb, &rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 0x1234, Bitrate: 750_000, SSRCs: []uint32{fuzzVideoSSRC}}),
		marshalSeed(tb, &rtcp.TransportLayerCC{
			SenderSSRC: 0x1234, MediaSSRC: fuzzVideoSSRC, BaseSequenceNumber: 7, PacketStatusCount: 2, ReferenceTime: 100, FbPktCount: 1,
			PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2}},
			RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 500}},
		}),
		marshalSeed(tb, sdes),
		marshalSeed(tb, &rtcp.Goodbye{Sources: []uint32{0x1234}, Reason: "hung up"}),
		compound,
	}
}

// rtpSeeds are RTP packets a plain-RTP leg takes: G.711 audio, an Opus
// payload, a DTMF key, one with CSRCs, an extension and padding, and ones
// cut short.
func rtpSeeds(tb testing.TB) [][]byte {
	pcmu := marshalSeed(tb, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 0x1234, Marker: true}, Payload: make([]byte, 160)})
	ext := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 2, Timestamp: 320, SSRC: 0x1234, CSRC: []uint32{5, 6}}
	if err := ext.SetExtension(1, []byte{0x30}); err != nil {
		tb.Fatal(err)
	}
	return [][]byte{
		pcmu,
		marshalSeed(tb, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPayloadType, SequenceNumber: 1, Timestamp: 960, SSRC: 0x5eec}, Payload: []byte{0x48, 0x01, 0x02, 0x03}}),
		marshalSeed(tb, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: telephoneEventPT, SequenceNumber: 3, Timestamp: 480, SSRC: 0x1234, Marker: true}, Payload: []byte{11, 0x8a, 0x03, 0x20}}),
		marshalSeed(tb, &rtp.Packet{Header: ext, Payload: []byte{1, 2, 3}, PaddingSize: 4}),
		pcmu[:11],
		{0x80},
		{},
	}
}

// FuzzLegDatagram: whatever arrives on a leg's port, in pairs of datagrams
// from its remote (the port it named or another), another loopback
// address or one outside the allowed networks, a strict leg and one that
// latches to any source never panic, only ever latch to an address they
// could have been asked to send to, count exactly the foreign packets,
// and keep their playout, DTMF and link figures in range.
func FuzzLegDatagram(f *testing.F) {
	rtps, rtcps := rtpSeeds(f), rtcpSeeds(f)
	for i, b := range append(rtps, rtcps...) {
		f.Add(b, rtps[i%len(rtps)], uint8(i))
	}
	remote := netip.MustParseAddrPort("127.0.0.1:5004")
	sources := [4]netip.AddrPort{remote, netip.MustParseAddrPort("127.0.0.1:6000"), netip.MustParseAddrPort("127.0.0.2:5004"), netip.MustParseAddrPort("10.0.0.1:5004")}
	var engs [2]*Engine
	for i, latchAny := range []bool{false, true} {
		cfg := loopbackLegs()
		cfg.LegLatchAny, cfg.Logger = latchAny, slog.New(slog.DiscardHandler)
		engs[i] = newTestEngine(f, cfg)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, first, second []byte, pick uint8) {
		// A fresh leg each time, so a failure replays from its input alone.
		latchAny := pick&1 == 1
		eng := engs[pick&1]
		c := legCodecs["PCMU"]
		if pick&2 != 0 {
			c = legCodecs["OPUS"]
		}
		leg, err := eng.legState("fuzz", c, remote)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range [][]byte{first, second} {
			from := sources[(pick>>(2+2*i))&3]
			before := eng.Stats().LegForeignPackets
			now = now.Add(20 * time.Millisecond)
			leg.handleDatagram(b, from, now)
			foreign := from.Addr() != remote.Addr()
			if latchAny {
				foreign = from.Addr() == sources[3].Addr()
			}
			if got := eng.Stats().LegForeignPackets - before; got != map[bool]uint64{false: 0, true: 1}[foreign] {
				t.Fatalf("datagram from %v (latch any %v): %d counted foreign", from, latchAny, got)
			}
			if to := leg.remote.Load().Addr(); to != remote.Addr() && (!latchAny || leg.policy.refusal(to) != "") {
				t.Fatalf("latched to %v", to)
			}
			leg.ReadAudio(now)
		}
		if keys := leg.TakeDTMF(nil); len(keys) > 2 {
			t.Fatalf("%d keys from two datagrams", len(keys))
		}
		checkLink(t, leg.link.sample(now))
	})
}

// checkNackLimiter runs b through a NACK limiter that sent packets 0..9
// of the video stream at now: what it keeps parses, asks for nothing else
// and agrees with the parsed packets it leaves to the responder.
func checkNackLimiter(t *testing.T, b []byte, now time.Time) {
	t.Helper()
	l, _ := testLimiter(t)
	w := l.BindLocalStream(&interceptor.StreamInfo{SSRC: fuzzVideoSSRC}, nopWriter)
	for seq := range uint16(10) {
		_, _ = w.Write(&rtp.Header{SequenceNumber: seq}, []byte{1}, nil)
	}
	once := false
	r := l.BindRTCPReader(interceptor.RTCPReaderFunc(func(buf []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		if once {
			return 0, nil, io.EOF
		}
		once = true
		return copy(buf, b), a, nil
	}))
	buf := make([]byte, len(b)+1500)
	n, attr, err := r.Read(buf, nil)
	if err != nil || n == 0 {
		return // the batch was dropped whole, or nothing came
	}
	if _, perr := rtcp.Unmarshal(b); perr != nil {
		return // not ours to judge: passed on as it came
	}
	pkts, err := attr.GetRTCPPackets(buf[:n])
	if err != nil {
		t.Fatalf("the limiter left RTCP that does not parse: %v", err)
	}
	for _, p := range pkts {
		nack, ok := p.(*rtcp.TransportLayerNack)
		if !ok || nack.MediaSSRC != fuzzVideoSSRC {
			continue
		}
		for _, pair := range nack.Nacks {
			for _, seq := range pair.PacketList() {
				if seq >= 10 {
					t.Fatalf("the limiter let through a NACK for %d, never sent", seq)
				}
			}
		}
	}
}

// checkLink fails unless a link sample's figures are in range.
func checkLink(t *testing.T, s media.LinkSample) {
	t.Helper()
	if s.Loss < 0 || s.Loss > 1 || s.AudioLoss < 0 || s.AudioLoss > 1 || s.RTT < 0 || s.SentBps < 0 || s.EstimateBps < 0 || s.QueueDelay < 0 {
		t.Fatalf("link sample out of range: %+v", s)
	}
}

// FuzzPeerRTCP: whatever RTCP a WebRTC receiver sends about our audio or
// video stream, the peer never panics, takes a keyframe request exactly
// when the packet parses and holds a PLI or FIR on the video stream, and
// its link monitor keeps its figures in range (the queue measured from
// transport-wide feedback included); the NACK limiter lets through no
// more than was asked, only for packets we sent.
func FuzzPeerRTCP(f *testing.F) {
	for i, b := range rtcpSeeds(f) {
		f.Add(b, i%2 == 0)
	}
	f.Add([]byte{0x81, 201, 0xff, 0xff, 1}, true) // a receiver report cut short
	sink := sinkFunc(func(*rtp.Packet) error { return nil })
	f.Fuzz(func(t *testing.T, b []byte, video bool) {
		p := &Peer{}
		p.video.init()
		p.audioOut = newRTPOut(sink, fuzzAudioSSRC, opusPayloadType, 48000, &p.link.sent)
		p.video.out = newRTPOut(sink, fuzzVideoSSRC, 96, 90000, &p.link.sent)
		sent := time.Unix(1_700_000_000, 0)
		p.link.sentReport(fuzzSRNTP, sent)
		p.link.departures = &sentLog{}
		for seq := range uint16(20) {
			p.link.departures.record(seq, sent.Add(time.Duration(seq)*time.Millisecond))
		}
		now := sent.Add(100 * time.Millisecond)
		p.handleRTCP(b, video, now)
		checkNackLimiter(t, b, now)

		pkts, err := rtcp.Unmarshal(b)
		wantKey := false
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				wantKey = video && err == nil
			}
		}
		if got := p.TakeKeyFrameRequest(); got != wantKey {
			t.Fatalf("keyframe requested %v, want %v (%d packets, %v)", got, wantKey, len(pkts), err)
		}
		s := p.link.sample(now)
		checkLink(t, s)
		if s.RTT > now.Sub(sent) {
			t.Fatalf("round trip %v longer than since our report", s.RTT)
		}
	})
}
