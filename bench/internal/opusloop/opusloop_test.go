package opusloop

import (
	"testing"

	"github.com/mcu-project/mcu/codec/opus"
	"github.com/pion/rtp"
)

func TestToneAmp(t *testing.T) {
	for talkers, want := range map[int]float64{0: 8192, 1: 8192, 3: 8192, 4: 8000, 16: 2000, 32: 1000} {
		if got := ToneAmp(talkers); got != want {
			t.Errorf("ToneAmp(%d) = %v, want %v", talkers, got, want)
		}
	}
}

func TestLoopsDecode(t *testing.T) {
	tone, err := Tone(ToneHz(0), 8192)
	if err != nil {
		t.Fatal(err)
	}
	silence, err := Silence()
	if err != nil {
		t.Fatal(err)
	}
	if len(tone) != LoopFrames || len(silence) != LoopFrames {
		t.Fatalf("loop lengths %d, %d", len(tone), len(silence))
	}
	dec, err := opus.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pcm := make([]int16, opus.MaxPacketSamples)
	var peak int16
	for _, p := range tone {
		n, err := dec.Decode(p, pcm)
		if err != nil || n != FrameLen {
			t.Fatalf("decode: %d samples, %v", n, err)
		}
		for _, x := range pcm[:n] {
			peak = max(peak, x)
		}
	}
	if peak < 7000 || peak > 9500 {
		t.Errorf("tone peak %d, want about 8192", peak)
	}
}

func TestStreamPacket(t *testing.T) {
	s := Stream{SSRC: 0xdeadbeef, Seq: 65535, TS: 4294967000}
	pcmu := Stream{SSRC: 7, Seq: 1, TS: 10, PT: 0, Step: 160}
	buf := make([]byte, HeaderLen+1500)
	for _, tc := range []struct {
		s    Stream
		k    int
		want rtp.Header
	}{
		{s, 0, rtp.Header{Version: 2, Marker: true, PayloadType: PayloadType, SequenceNumber: 65535, Timestamp: 4294967000, SSRC: 0xdeadbeef}},
		{s, 1, rtp.Header{Version: 2, PayloadType: PayloadType, SequenceNumber: 0, Timestamp: 4294967000 + FrameLen - 1<<32, SSRC: 0xdeadbeef}},
		{pcmu, 3, rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 4, Timestamp: 490, SSRC: 7}},
	} {
		s, k, want := tc.s, tc.k, tc.want
		n := s.Packet(buf, k, []byte{1, 2, 3})
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if p.Version != want.Version || p.Marker != want.Marker || p.PayloadType != want.PayloadType ||
			p.SequenceNumber != want.SequenceNumber || p.Timestamp != want.Timestamp || p.SSRC != want.SSRC || string(p.Payload) != "\x01\x02\x03" {
			t.Errorf("packet %d: %+v", k, p)
		}
	}
}
