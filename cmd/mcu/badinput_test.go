package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// Offers that parse but cannot be served.
const videoOnlyOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n"
const pcmuOnlyOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"

// An offer that passes our checks (audio, Opus) but that pion must reject:
// no ICE credentials, no DTLS fingerprint.
const noCredentialsOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n"

// TestBadInput: each bad request gets its 4xx and a one-line reason within a
// second, and leaves the server unchanged: no room or participant appears
// and a normal join still works afterwards.
func TestBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server and a WebRTC client")
	}
	s := startServer(t)
	cases := []struct {
		name, method, path, ctype, body string
		want                            int
		reason                          string
	}{
		{"empty body", "POST", "/rooms/a/join", "application/sdp", "", 400, "empty body"},
		{"malformed SDP", "POST", "/rooms/a/join", "application/sdp", "this is not SDP", 400, "malformed SDP"},
		{"truncated SDP", "POST", "/rooms/a/join", "application/sdp", "v=0\r\no=- 1 1 IN IP4", 400, "malformed SDP"},
		{"no audio m-line", "POST", "/rooms/a/join", "application/sdp", videoOnlyOffer, 400, "no audio m-line"},
		{"no Opus offered", "POST", "/rooms/a/join", "application/sdp", pcmuOnlyOffer, 400, "Opus"},
		{"offer pion rejects", "POST", "/rooms/a/join", "application/sdp", noCredentialsOffer, 400, "cannot answer offer"},
		{"body over 1 MiB", "POST", "/rooms/a/join", "application/sdp", "v=0\r\n" + strings.Repeat("a=x\r\n", 300000), 413, "larger than"},
		{"JSON instead of SDP", "POST", "/rooms/a/join", "application/json", `{"sdp":"v=0"}`, 415, "application/sdp"},
		{"bad room name", "POST", "/rooms/a%20b/join", "application/sdp", pcmuOnlyOffer, 400, "bad room name"},
		{"control chars in name", "POST", "/rooms/a/join?name=x%00y", "application/sdp", pcmuOnlyOffer, 400, "bad name"},
		{"unknown participant", "DELETE", "/rooms/a/participants/nobody", "", "", 404, "room: unknown room: a"},
		{"unknown path", "GET", "/nothing/here", "", "", 404, "unknown path"},
		{"wrong method", "GET", "/rooms/a/join", "", "", 404, "unknown path"},
		{"leg: unknown room", "POST", "/rooms/nosuch/rtp", "application/json", `{"remote":"192.0.2.1:4000","codec":"PCMU"}`, 404, "unknown room"},
		{"leg: loopback remote", "POST", "/rooms/a/rtp", "application/json", `{"remote":"127.0.0.1:4000","codec":"PCMU"}`, 403, "remote 127.0.0.1:4000 is not allowed: loopback"},
		{"leg: hostname, not an IP", "POST", "/rooms/a/rtp", "application/json", `{"remote":"phone.example.org:4000","codec":"PCMU"}`, 400, "not an IP:port"},
		{"leg: no port", "POST", "/rooms/a/rtp", "application/json", `{"remote":"127.0.0.1","codec":"PCMU"}`, 400, "not an IP:port"},
		{"leg: unknown codec", "POST", "/rooms/a/rtp", "application/json", `{"remote":"127.0.0.1:4000","codec":"G729"}`, 400, "unknown codec"},
		{"leg: malformed JSON", "POST", "/rooms/a/rtp", "application/json", `{"remote":`, 400, "bad JSON"},
		{"leg: unknown field", "POST", "/rooms/a/rtp", "application/json", `{"remote":"127.0.0.1:4000","codec":"PCMU","x":1}`, 400, "unknown field"},
		{"leg: huge body", "POST", "/rooms/a/rtp", "application/json", `{"remote":"` + strings.Repeat("1", 70000) + `"}`, 413, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tc.method, s.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("no answer within a second: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (body %q)", res.StatusCode, tc.want, body)
			}
			reason := strings.TrimSuffix(string(body), "\n")
			if strings.Contains(reason, "\n") || !strings.Contains(reason, tc.reason) {
				t.Fatalf("reason %q: want one line containing %q", reason, tc.reason)
			}
			if got := s.metric(t, "mcu_rooms"); got != 0 {
				t.Fatalf("a bad request left %v rooms", got)
			}
		})
	}

	// Unknown participant in a room that exists, then a normal join.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "a", Name: "ok", ToneHz: 440})
	if err != nil {
		t.Fatalf("normal join after bad input: %v", err)
	}
	defer c.Close()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if c.ICEServerLinks != nil {
		t.Fatalf("Link headers without configured ICE servers: %v", c.ICEServerLinks)
	}
	req, _ := http.NewRequestWithContext(ctx, "DELETE", s.URL+"/rooms/a/participants/nobody", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("unknown participant in existing room: %d", res.StatusCode)
	}
	if got := s.metric(t, "mcu_participants"); got != 1 {
		t.Fatalf("participants = %v, want 1", got)
	}
	if code, err := c.Leave(ctx); err != nil || code != 204 {
		t.Fatalf("leave: %d %v", code, err)
	}
	s.waitMetric(t, "mcu_rooms", 0, time.Second)
}
