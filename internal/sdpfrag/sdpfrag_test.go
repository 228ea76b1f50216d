package sdpfrag

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const cand = "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"

var parseCases = []struct {
	name, body string
	want       Frag
	bad        bool
}{
	{name: "simple-whip-client trickle", body: "a=ice-ufrag:u1\r\na=ice-pwd:p1\r\nm=audio 9 RTP/AVP 0\r\na=mid:audio0\r\na=" + cand + "\r\n",
		want: Frag{Ufrag: "u1", Pwd: "p1", Media: []Media{{Kind: "audio", Mid: "audio0", Candidates: []string{cand}}}}},
	{name: "whip-whep end of candidates", body: "a=ice-ufrag:u1\r\na=ice-pwd:p1\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=end-of-candidates\r\n",
		want: Frag{Ufrag: "u1", Pwd: "p1", Media: []Media{{Kind: "video", Mid: "0", End: true}}}},
	{name: "restart, LF line ends, group and options skipped", body: "a=ice-options:trickle\na=group:BUNDLE 0 1\na=ice-ufrag:u2\na=ice-pwd:p2\nm=audio 9 UDP/TLS/RTP/SAVPF 0\na=mid:0\na=" + cand + "\nm=video 9 UDP/TLS/RTP/SAVPF 0\na=mid:1\n",
		want: Frag{Ufrag: "u2", Pwd: "p2", Media: []Media{{Kind: "audio", Mid: "0", Candidates: []string{cand}}, {Kind: "video", Mid: "1"}}}},
	{name: "credentials alone", body: "a=ice-ufrag:u\r\na=ice-pwd:p\r\n", want: Frag{Ufrag: "u", Pwd: "p"}},
	{name: "empty", body: "", want: Frag{}},
	{name: "not SDP", body: "{\"candidate\":1}", bad: true},
	{name: "candidate outside an m-section", body: "a=ice-ufrag:u\r\na=ice-pwd:p\r\na=" + cand + "\r\n", bad: true},
	{name: "ufrag without pwd", body: "a=ice-ufrag:u\r\nm=audio 9 RTP/AVP 0\r\n", bad: true},
	{name: "too many candidates", body: "m=audio 9 RTP/AVP 0\r\n" + strings.Repeat("a="+cand+"\r\n", MaxCandidates+1), bad: true},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.body)
			if tc.bad {
				if !errors.Is(err, ErrBad) {
					t.Fatalf("Parse = %+v, %v; want ErrBad", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// FuzzParse: any body parses or is refused with ErrBad, and what parses
// reads back the same from its String.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		frag, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrBad) {
				t.Fatalf("error without ErrBad: %v", err)
			}
			return
		}
		if strings.ContainsAny(frag.Ufrag+frag.Pwd, "\r\n") {
			return // a value with a line break cannot be written back as one line
		}
		again, err := Parse(frag.String())
		if err != nil {
			t.Fatalf("String() of %+v does not parse: %v", frag, err)
		}
		if frag.Ufrag != again.Ufrag || frag.Pwd != again.Pwd || len(frag.Media) != len(again.Media) {
			t.Fatalf("round trip changed %+v into %+v", frag, again)
		}
	})
}

const offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:old\r\na=ice-pwd:oldpassword\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=" + cand + "\r\na=end-of-candidates\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:old\r\na=ice-pwd:oldpassword\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=" + cand + "\r\n"

// TestApplyAndOf: a restart's fragment replaces the credentials of every
// m-section and the candidates, which land in the m-section of their mid;
// Of reads back the credentials and the first m-section's candidates.
func TestApplyAndOf(t *testing.T) {
	if got := Ufrag(offer); got != "old" {
		t.Fatalf("Ufrag = %q", got)
	}
	newCand := "candidate:2 1 udp 2130706431 127.0.0.2 40000 typ host"
	rtcp := "candidate:2 2 udp 2130706430 127.0.0.2 40000 typ host"
	desc, err := Apply(offer, Frag{Ufrag: "new", Pwd: "newpassword", Media: []Media{{Kind: "video", Mid: "1", Candidates: []string{newCand}}, {Kind: "audio", Mid: "x", Candidates: []string{rtcp}, End: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(desc, "old") || strings.Count(desc, "a=ice-ufrag:new\r\n") != 2 || strings.Count(desc, "a=ice-pwd:newpassword\r\n") != 2 {
		t.Fatalf("credentials not replaced everywhere:\n%s", desc)
	}
	if strings.Contains(desc, cand) {
		t.Fatalf("old candidates kept:\n%s", desc)
	}
	video := desc[strings.Index(desc, "m=video"):]
	if !strings.Contains(video, "a="+newCand+"\r\n") || strings.Contains(video, rtcp) {
		t.Fatalf("candidate not in the video m-section:\n%s", desc)
	}
	got, err := Of(desc)
	if err != nil {
		t.Fatal(err)
	}
	// The audio m-section got the unknown mid's RTCP candidate, which Of
	// leaves out (RTCP is muxed), and its end-of-candidates.
	want := Frag{Ufrag: "new", Pwd: "newpassword", Media: []Media{{Kind: "audio", Mid: "0", End: true}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Of = %+v, want %+v", got, want)
	}
	if _, err := Apply("not sdp", want); err == nil {
		t.Error("Apply took a description that does not parse")
	}
	if _, err := Of("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"); err == nil {
		t.Error("Of took a description without m-sections")
	}
}
