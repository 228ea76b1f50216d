package transport

import (
	"errors"
	"strings"
	"testing"
)

const opusOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=%s\r\n"

var offerCases = []struct {
	name    string
	sdp     string
	wantErr error
	dir     string
	video   string
}{
	{"sendrecv", strings.Replace(opusOffer, "%s", "sendrecv", 1), nil, "sendrecv", ""},
	{"recvonly", strings.Replace(opusOffer, "%s", "recvonly", 1), nil, "recvonly", ""},
	{"sendonly", strings.Replace(opusOffer, "%s", "sendonly", 1), nil, "sendonly", ""},
	{"default direction", strings.Replace(opusOffer, "a=%s\r\n", "", 1), nil, "sendrecv", ""},
	{"empty", "", ErrBadOffer, "", ""},
	{"blank", " \r\n ", ErrBadOffer, "", ""},
	{"garbage", "hello world", ErrBadOffer, "", ""},
	{"no m-lines", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", ErrNoAudio, "", ""},
	{"video only", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n", ErrNoAudio, "", ""},
	{"audio rejected (port 0)", strings.Replace(strings.Replace(opusOffer, "%s", "sendrecv", 1), "m=audio 9", "m=audio 0", 1), ErrNoAudio, "", ""},
	{"audio bundle-only (port 0, max-bundle)", strings.Replace(strings.Replace(opusOffer, "%s", "sendonly\r\na=bundle-only", 1), "m=audio 9", "m=audio 0", 1), nil, "sendonly", ""},
	{"PCMU only", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n", ErrNoUsableCodec, "", ""},
	{"opus at 16 kHz is not WebRTC Opus", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/16000\r\n", ErrNoUsableCodec, "", ""},
	{"audio and VP8 video", strings.Replace(opusOffer, "%s", "sendrecv", 1) + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=recvonly\r\n", nil, "sendrecv", "recvonly"},
	{"video without VP8 is ignored", strings.Replace(opusOffer, "%s", "sendrecv", 1) + "m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000\r\n", nil, "sendrecv", ""},
}

func TestParseOffer(t *testing.T) {
	for _, tc := range offerCases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := parseOffer(tc.sdp)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if info.audioDir != tc.dir || info.videoDir != tc.video {
				t.Fatalf("directions %q/%q, want %q/%q", info.audioDir, info.videoDir, tc.dir, tc.video)
			}
		})
	}
}

// FuzzParseOffer: any input either parses to a known direction or fails
// with one of the offer sentinels — never a panic, never another error.
func FuzzParseOffer(f *testing.F) {
	for _, tc := range offerCases {
		f.Add(tc.sdp)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		info, err := parseOffer(raw)
		if err != nil {
			if !errors.Is(err, ErrBadOffer) && !errors.Is(err, ErrNoAudio) && !errors.Is(err, ErrNoUsableCodec) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		switch info.audioDir {
		case "sendrecv", "sendonly", "recvonly", "inactive":
		default:
			t.Fatalf("direction %q", info.audioDir)
		}
	})
}

func TestChooseVideoCodec(t *testing.T) {
	offer := func(formats string, lines ...string) string {
		return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n" +
			"m=video 9 UDP/TLS/RTP/SAVPF " + formats + "\r\n" + strings.Join(lines, "\r\n") + "\r\n"
	}
	vp8 := "a=rtpmap:96 VP8/90000"
	h264 := "a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	h264mode0 := "a=rtpmap:103 H264/90000\r\na=fmtp:103 profile-level-id=42e01f"
	both := []string{"video/VP8", "video/H264"}
	cases := []struct {
		name, sdp string
		allowed   []string
		want      string
	}{
		{"VP8 first", offer("96 102", vp8, h264), both, "video/VP8"},
		{"H.264 first", offer("102 96", vp8, h264), both, "video/H264"},
		{"room allows only VP8", offer("102 96", vp8, h264), []string{"video/VP8"}, "video/VP8"},
		{"H.264 mode 0 only is unusable", offer("103", h264mode0), both, ""},
		{"nothing allowed", offer("96", vp8), []string{"video/H264"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := parseOffer(tc.sdp)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.chooseVideoCodec(tc.allowed); got != tc.want {
				t.Fatalf("chose %q, want %q (offered %v)", got, tc.want, info.videoCodecs)
			}
		})
	}
}

// TestParseOfferScreen: a second video m-line with a codec we take is the
// screen share's; the first stays the camera's.
func TestParseOfferScreen(t *testing.T) {
	video := func(dir string) string {
		return "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=" + dir + "\r\n"
	}
	audio := strings.Replace(opusOffer, "%s", "sendrecv", 1)
	for _, tc := range []struct {
		name, sdp, camera, screen string
	}{
		{"camera and screen", audio + video("sendrecv") + video("sendonly"), "sendrecv", "sendonly"},
		{"screen without a camera", audio + video("recvonly") + video("sendonly"), "recvonly", "sendonly"},
		{"one video", audio + video("sendrecv"), "sendrecv", ""},
		{"second video without our codecs", audio + video("sendrecv") + "m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000\r\na=sendonly\r\n", "sendrecv", ""},
	} {
		info, err := parseOffer(tc.sdp)
		if err != nil || info.videoDir != tc.camera || info.screenDir != tc.screen {
			t.Errorf("%s: camera %q, screen %q (%v), want %q, %q", tc.name, info.videoDir, info.screenDir, err, tc.camera, tc.screen)
		}
	}
}
