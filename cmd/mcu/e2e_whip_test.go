package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/internal/sdpfrag"
	"github.com/mcu-project/mcu/internal/testkit/loopoffer"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// whipHeader is a request's header: a token (none: ""), a content type
// and more, as name-value pairs.
func whipHeader(token, ctype string, more ...string) http.Header {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(more); i += 2 {
		h.Set(more[i], more[i+1])
	}
	return h
}

// listed lists a room's participants over gRPC, each as f describes it,
// in join order.
func listed(t *testing.T, s *testServer, room string, f func(*mcuv1.Participant) string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := dial(t, s).ListParticipants(ctx, &mcuv1.ListParticipantsRequest{RoomId: room})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range res.GetParticipants() {
		out = append(out, f(p))
	}
	return strings.Join(out, " ")
}

var sessionPath = regexp.MustCompile(`^/(whip|whep)/w/[A-Za-z0-9_-]+\.[0-9a-f]+$`) // a participant ID: node id, dot, random hex

// TestWHIPRules: every rule of the WHIP and WHEP endpoints and of their
// sessions (RFC 9725), through the real server with tokens on.
func TestWHIPRules(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server")
	}
	s, a := authServer(t)
	pub := mint(t, a, "w", "pub", auth.Grants{Publish: true})
	sub := mint(t, a, "w", "sub", auth.Grants{Subscribe: true})
	hidden := mint(t, a, "w", "rec", auth.Grants{Publish: true, Subscribe: true, Hidden: true})
	elsewhere := mint(t, a, "x", "pub", auth.DefaultGrants())
	admin := mint(t, a, "w", "op", auth.Grants{Admin: true})
	_, offer := loopoffer.New(t, false)
	const sdpType, fragType = "application/sdp", "application/trickle-ice-sdpfrag"

	// A page on another origin asks first, without a token.
	for _, tc := range []struct{ path, methods, accept, types string }{
		{"/whip/w", "POST", "Accept-Post", sdpType},
		{"/whep/w", "POST", "Accept-Post", sdpType},
		{"/whip/w/123", "PATCH, DELETE", "Accept-Patch", fragType},
	} {
		code, _, h := doHeader(t, "OPTIONS", s.URL+tc.path, whipHeader("", "", "Origin", "https://studio.example", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization,content-type,if-match"), "")
		if code != 204 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), tc.methods) ||
			h.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, If-Match" || h.Get(tc.accept) != tc.types {
			t.Errorf("OPTIONS %s: %d %v", tc.path, code, h)
		}
	}

	// The token first (401/403 as for joins, each readable by the page),
	// then the body's type.
	for _, tc := range []struct {
		name, method, path string
		header             http.Header
		want               int
		reason             string
	}{
		{"WHIP without a token", "POST", "/whip/w", whipHeader("", sdpType), 401, "no bearer token"},
		{"WHIP without the publish grant", "POST", "/whip/w", whipHeader(sub, sdpType), 403, "publish"},
		{"WHIP into another room", "POST", "/whip/w", whipHeader(elsewhere, sdpType), 403, "room"},
		{"WHIP hidden", "POST", "/whip/w", whipHeader(hidden, sdpType), 403, "hidden participant only receives"},
		{"WHEP without the subscribe grant", "POST", "/whep/w", whipHeader(pub, sdpType), 403, "subscribe"},
		{"WHIP not SDP", "POST", "/whip/w", whipHeader(pub, "application/json"), 415, "application/sdp"},
		{"WHIP no type", "POST", "/whip/w", whipHeader(pub, ""), 415, "application/sdp"},
		{"GET an endpoint", "GET", "/whip/w", whipHeader(pub, ""), 405, "GET is not allowed"},
		{"PUT a session", "PUT", "/whep/w/123", whipHeader(pub, ""), 405, "PUT is not allowed"},
	} {
		code, body, h := doHeader(t, tc.method, s.URL+tc.path, tc.header, offer)
		if code != tc.want || !strings.Contains(body, tc.reason) || strings.Contains(body, "\n") || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: %d %q (CORS %q), want %d with %q", tc.name, code, body, h.Get("Access-Control-Allow-Origin"), tc.want, tc.reason)
		}
	}

	// A publisher: 201 with everything a WHIP client (and a page) reads.
	code, answer, h := doHeader(t, "POST", s.URL+"/whip/w", whipHeader(pub, sdpType, "Origin", "https://studio.example"), offer)
	if code != 201 {
		t.Fatalf("WHIP publish: %d %s", code, answer)
	}
	loc, etag := h.Get("Location"), h.Get("ETag")
	expose := h.Get("Access-Control-Expose-Headers")
	if !sessionPath.MatchString(loc) || !strings.HasPrefix(loc, "/whip/") || len(etag) < 3 || etag[0] != '"' || h.Get("Content-Type") != sdpType ||
		len(h.Values("Link")) != 2 || h.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(expose, "Location") || !strings.Contains(expose, "Link") || !strings.Contains(expose, "ETag") {
		t.Fatalf("WHIP 201 headers: %v", h)
	}
	if dir := audioDirection(answer); dir != "recvonly" {
		t.Errorf("a WHIP publisher's answer is %s, want recvonly (it receives nothing)", dir)
	}
	session := s.URL + loc
	ufrag := sdpfrag.Ufrag(offer)
	cand := "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
	trickle := func(u string) string {
		return "a=ice-ufrag:" + u + "\r\na=ice-pwd:whatever\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" + cand
	}
	restart := "a=ice-ufrag:newufrag\r\na=ice-pwd:a-new-password-of-24-chars\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" + cand

	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		want   int
		reason string
	}{
		{"PATCH without a token", whipHeader("", fragType, "If-Match", etag), trickle(ufrag), 401, "no bearer token"},
		{"PATCH with another's token", whipHeader(sub, fragType, "If-Match", etag), trickle(ufrag), 403, "only the participant itself or an admin"},
		{"PATCH not a fragment", whipHeader(pub, sdpType, "If-Match", etag), trickle(ufrag), 415, fragType},
		{"PATCH not SDP", whipHeader(pub, fragType, "If-Match", etag), "{}", 400, "not an SDP line"},
		{"trickle, stale ETag", whipHeader(pub, fragType, "If-Match", `"stale"`), trickle(ufrag), 412, "ETag"},
		{"trickle, another ICE session's ufrag", whipHeader(pub, fragType, "If-Match", etag), trickle("other"), 412, "ice-ufrag"},
		{"trickle", whipHeader(pub, fragType, "If-Match", etag), trickle(ufrag), 204, ""},
		{"trickle by an admin, no If-Match", whipHeader(admin, fragType), trickle(ufrag), 204, ""},
		{"restart without credentials", whipHeader(pub, fragType, "If-Match", "*"), "m=audio 9 RTP/AVP 0\r\n" + cand, 400, "needs the new ice-ufrag"},
		{"restart with the same credentials", whipHeader(pub, fragType, "If-Match", "*"), trickle(ufrag), 400, "needs new credentials"},
	} {
		code, body, h := doHeader(t, "PATCH", session, tc.header, tc.body)
		if code != tc.want || !strings.Contains(body, tc.reason) || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, code, body, tc.want, tc.reason)
		}
	}

	// An ICE restart: 200 with our new credentials and a new ETag; the
	// old ETag is stale from then on.
	code, body, h := doHeader(t, "PATCH", session, whipHeader(pub, fragType, "If-Match", "*"), restart)
	if code != 200 || h.Get("Content-Type") != fragType {
		t.Fatalf("ICE restart: %d %q %v", code, body, h)
	}
	ours, err := sdpfrag.Parse(body)
	if err != nil {
		t.Fatalf("restart answer %q: %v", body, err)
	}
	newTag := h.Get("ETag")
	if ours.Ufrag == "" || ours.Ufrag == sdpfrag.Ufrag(answer) || ours.Pwd == "" || len(ours.Media) != 1 || len(ours.Media[0].Candidates) == 0 ||
		newTag == "" || newTag == etag {
		t.Fatalf("restart answered %+v with ETag %s (was %s, ufrag %s)", ours, newTag, etag, sdpfrag.Ufrag(answer))
	}
	if code, body, _ := doHeader(t, "PATCH", session, whipHeader(pub, fragType, "If-Match", etag), trickle("newufrag")); code != 412 {
		t.Errorf("trickle with the ETag before the restart: %d %q, want 412", code, body)
	}
	if code, body, _ := doHeader(t, "PATCH", session, whipHeader(pub, fragType, "If-Match", newTag), trickle("newufrag")); code != 204 {
		t.Errorf("trickle for the restarted session: %d %q, want 204", code, body)
	}

	// A viewer: its answer only sends; its session is not the WHIP one's.
	code, answer, h = doHeader(t, "POST", s.URL+"/whep/w", whipHeader(sub, sdpType), offer)
	if code != 201 || !strings.HasPrefix(h.Get("Location"), "/whep/w/") || h.Get("ETag") == "" {
		t.Fatalf("WHEP view: %d %q %v", code, answer, h)
	}
	if dir := audioDirection(answer); dir != "sendonly" {
		t.Errorf("a WHEP viewer's answer is %s, want sendonly", dir)
	}
	viewer := s.URL + h.Get("Location")
	wrongKind := s.URL + "/whep/w/" + loc[strings.LastIndex(loc, "/")+1:]
	if code, body, _ := doHeader(t, "PATCH", wrongKind, whipHeader(admin, fragType), trickle(ufrag)); code != 404 {
		t.Errorf("PATCH of a WHIP session at /whep/: %d %q, want 404", code, body)
	}

	// DELETE: the participant's own token or an admin's; 200, then gone.
	if code, body, _ := doHeader(t, "DELETE", session, whipHeader(sub, ""), ""); code != 403 {
		t.Errorf("DELETE with another's token: %d %q", code, body)
	}
	for _, u := range []string{session, viewer} {
		if code, body, h := doHeader(t, "DELETE", u, whipHeader(admin, ""), ""); code != 200 || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("DELETE %s: %d %q", u, code, body)
		}
		if code, _, _ := doHeader(t, "DELETE", u, whipHeader(admin, ""), ""); code != 404 {
			t.Errorf("DELETE %s again: %d, want 404", u, code)
		}
	}

	// The join API's Location takes the same PATCH, with the same rights.
	joined := joinWith(t, s, "w", mint(t, a, "w", "ann", auth.DefaultGrants()), 0)
	if code, body, _ := doHeader(t, "PATCH", s.URL+joined.Location, whipHeader(sub, fragType, "If-Match", joined.ETag), trickle(sdpfrag.Ufrag(offer))); code != 403 {
		t.Errorf("PATCH of a join with another's token: %d %q", code, body)
	}
	if code, body, _ := doHeader(t, "PATCH", s.URL+joined.Location, whipHeader(admin, fragType, "If-Match", `"stale"`), ""); code != 412 {
		t.Errorf("PATCH of a join with a stale ETag: %d %q", code, body)
	}
}

// TestWHIPAndWHEP: a pion WHIP publisher (blue camera, 1000 Hz) joins a
// room beside a participant of the join API (red, 400 Hz): it is a tile
// and a voice, listed as "whip", and receives nothing. Three WHEP viewers
// decode the canvas with both tiles (they have none of their own) and hear
// both voices (the full mix), are listed as "whep" listeners, and share
// the encoders the room already runs: no video encoder more, and one audio
// encode of the full mix for the three of them.
func TestWHIPAndWHEP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC video test")
	}
	s := videoServer(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const amp, redHz, whipHz = 8192, 400, 1000
	join := func(o pionclient.Options) *pionclient.Client {
		t.Helper()
		o.BaseURL, o.Room, o.ToneAmp = s.URL, "pw", amp
		return joinReady(t, o)
	}
	member := join(pionclient.Options{Name: "red", ToneHz: redHz, RecvVideo: true, Video: &pionclient.VideoOptions{Y: red.y, U: red.u, V: red.v}})
	publisher := join(pionclient.Options{Endpoint: "/whip/pw", Name: "whip", ToneHz: whipHz, Video: &pionclient.VideoOptions{Y: blue.y, U: blue.u, V: blue.v}})
	if !strings.HasPrefix(publisher.Location, "/whip/pw/") {
		t.Fatalf("WHIP Location %q", publisher.Location)
	}
	waitCanvas(t, []*pionclient.Client{member}, func(int) []*colour { return cols(red, blue) }, 10*time.Second)
	if err := waitHearing(ctx, member, whipHz, amp); err != nil {
		t.Fatalf("the room does not hear the WHIP publisher: %v", err)
	}
	encoders := s.metric(t, "mcu_video_encoders")

	var viewers []*pionclient.Client
	for i := range 3 {
		viewers = append(viewers, join(pionclient.Options{Endpoint: "/whep/pw", Name: fmt.Sprint("viewer", i), RecvOnly: true, RecvVideo: true}))
	}
	waitCanvas(t, viewers, func(int) []*colour { return cols(red, blue) }, 10*time.Second)
	for _, v := range viewers {
		for _, hz := range []float64{redHz, whipHz} {
			if err := waitHearing(ctx, v, hz, amp); err != nil {
				t.Fatalf("a WHEP viewer misses a voice of the full mix: %v", err)
			}
		}
	}
	if got := s.metric(t, "mcu_video_encoders"); got != encoders {
		t.Errorf("%v video encoders with three WHEP viewers, want the room's %v", got, encoders)
	}
	// Each tick: the member's mix-minus and one full mix for all viewers;
	// the publisher gets nothing.
	enc0, ticks0 := s.metric(t, "mcu_audio_encodes_total"), s.metric(t, "mcu_mix_ticks_total")
	time.Sleep(time.Second)
	perTick := (s.metric(t, "mcu_audio_encodes_total") - enc0) / (s.metric(t, "mcu_mix_ticks_total") - ticks0)
	t.Logf("%v video encoders, %.2f audio encodes per tick with three WHEP viewers", encoders, perTick)
	if perTick < 1.5 || perTick > 2.5 {
		t.Errorf("%.2f audio encodes per tick, want 2 (the member's mix-minus, one full mix for the viewers)", perTick)
	}
	if n := publisher.FrameCount(); n != 0 {
		t.Errorf("the WHIP publisher received %d audio frames, want none", n)
	}
	if _, n := publisher.LatestVideo(); n != 0 {
		t.Errorf("the WHIP publisher received %d video frames, want none", n)
	}
	got := listed(t, s, "pw", func(p *mcuv1.Participant) string {
		return fmt.Sprintf("%s/%s/listener=%v", p.GetName(), p.GetKind(), p.GetListener())
	})
	want := "red/webrtc/listener=false whip/whip/listener=false viewer0/whep/listener=true viewer1/whep/listener=true viewer2/whep/listener=true"
	if got != want {
		t.Errorf("listed %s, want %s", got, want)
	}
	if code, err := viewers[0].Leave(ctx); err != nil || code != http.StatusOK {
		t.Errorf("WHEP DELETE: %d %v", code, err)
	}
}
