package transport

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func TestREDPacketize(t *testing.T) {
	r := &redPacketizer{pt: opusPayloadType}
	// The first packet has nothing to repeat: the primary block alone.
	got, withPrev := r.packetize(nil, []byte{1, 2, 3}, 1000, true)
	if want := []byte{111, 1, 2, 3}; !bytes.Equal(got, want) || withPrev {
		t.Fatalf("first packet = %v (redundant %v), want %v alone", got, withPrev, want)
	}
	// The next, 960 later: F=1|111, offset 960 (14 bits), length 3
	// (10 bits), then F=0|111, the previous frame, the current one.
	got, withPrev = r.packetize(got[:0], []byte{4, 5}, 1960, true)
	want := []byte{0x80 | 111, 960 >> 6, (960&0x3f)<<2 | 0, 3, 111, 1, 2, 3, 4, 5}
	if !bytes.Equal(got, want) || !withPrev {
		t.Fatalf("second packet = %v (redundant %v), want %v", got, withPrev, want)
	}
	// Low loss: the primary alone, and it is still remembered.
	if got, withPrev = r.packetize(got[:0], []byte{6}, 2920, false); !bytes.Equal(got, []byte{111, 6}) || withPrev {
		t.Fatalf("without redundancy = %v (redundant %v)", got, withPrev)
	}
	got, _ = r.packetize(got[:0], []byte{7}, 3880, true)
	if want := []byte{0x80 | 111, 960 >> 6, (960 & 0x3f) << 2, 1, 111, 6, 7}; !bytes.Equal(got, want) {
		t.Fatalf("after a primary-only packet = %v, want %v", got, want)
	}
}

// TestREDPacketizeLimits: a previous frame the header cannot describe
// (too long for 10 bits, too old for 14, or not older) is left out.
func TestREDPacketizeLimits(t *testing.T) {
	cases := []struct {
		name     string
		prev     int
		offset   uint32
		withPrev bool
	}{
		{"largest", maxRedLength, maxRedOffset, true},
		{"too long", maxRedLength + 1, 960, false},
		{"too old", 10, maxRedOffset + 1, false},
		{"same time", 10, 0, false},
		{"newer", 10, 1<<32 - 960, false},
	}
	for _, c := range cases {
		r := &redPacketizer{pt: opusPayloadType}
		r.packetize(nil, make([]byte, c.prev), 5000, true)
		got, withPrev := r.packetize(nil, []byte{9}, 5000+c.offset, true)
		if withPrev != c.withPrev {
			t.Errorf("%s: redundant %v, want %v", c.name, withPrev, c.withPrev)
			continue
		}
		if !withPrev && !bytes.Equal(got, []byte{111, 9}) {
			t.Errorf("%s: %v, want the primary alone", c.name, got)
		}
		if withPrev {
			off := uint32(got[1])<<6 | uint32(got[2])>>2
			n := int(got[2]&3)<<8 | int(got[3])
			if off != c.offset || n != c.prev || len(got) != 5+c.prev+1 {
				t.Errorf("%s: header offset %d length %d (packet %d bytes)", c.name, off, n, len(got))
			}
		}
	}
}

func TestOffersRED(t *testing.T) {
	const opus = "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
	cases := []struct {
		name, attrs string
		want        bool
	}{
		{"chrome", opus + "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n", true},
		{"no red", opus, false},
		{"red over another codec", opus + "a=rtpmap:63 red/48000/2\r\na=fmtp:63 0/0\r\n", false},
		{"opus elsewhere", "a=rtpmap:109 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n", false},
	}
	for _, c := range cases {
		raw := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\nc=IN IP4 0.0.0.0\r\n" + c.attrs
		var sd sdp.SessionDescription
		if err := sd.UnmarshalString(raw); err != nil {
			t.Fatal(err)
		}
		if got := offersRED(sd.MediaDescriptions[0]); got != c.want {
			t.Errorf("%s: offersRED = %v, want %v", c.name, got, c.want)
		}
		info, err := parseOffer(raw)
		if err != nil && !strings.Contains(c.name, "elsewhere") {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err == nil && info.audioRED != c.want {
			t.Errorf("%s: parseOffer audioRED = %v", c.name, info.audioRED)
		}
	}
}

func TestREDPrimary(t *testing.T) {
	var r redPacketizer
	r.pt = opusPayloadType
	first, _ := r.packetize(nil, []byte{1, 2, 3}, 0, true)
	second, _ := r.packetize(nil, []byte{4, 5}, 960, true)
	for _, c := range []struct {
		in   []byte
		want []byte
	}{{first, []byte{1, 2, 3}}, {second, []byte{4, 5}}, {[]byte{111}, []byte{}}} {
		if got, ok := redPrimary(c.in); !ok || !bytes.Equal(got, c.want) {
			t.Errorf("redPrimary(%v) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
	for _, bad := range [][]byte{nil, {0x80 | 111, 15, 0}, {0x80 | 111, 15, 0, 9, 111, 1}, {0x80 | 111, 15, 0, 1}} {
		if got, ok := redPrimary(bad); ok {
			t.Errorf("redPrimary(%v) = %v, want it refused", bad, got)
		}
	}
}
