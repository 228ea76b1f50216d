package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/internal/testkit/loopoffer"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/transport"
	"github.com/pion/webrtc/v4"
)

const (
	testAuthSecret = "a test secret of at least 32 bytes!!"
	testTURNSecret = "turn-secret"
)

// authServer is a server with join tokens on and one TURN server.
func authServer(t *testing.T, mutate ...func(*Config)) (*testServer, *auth.Authority) {
	t.Helper()
	s := startServer(t, append([]func(*Config){func(c *Config) {
		c.AuthSecret, c.TURNSecret = testAuthSecret, testTURNSecret
		c.ICEServers = []transport.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}, {URLs: []string{"turn:127.0.0.1:3478"}}}
	}}, mutate...)...)
	a, err := auth.New([]byte(testAuthSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

// mint makes a token for room and identity with grants, valid for an hour.
func mint(t *testing.T, a *auth.Authority, room, identity string, g auth.Grants) string {
	t.Helper()
	tok, err := a.Mint(auth.Claims{Identity: identity, Room: room, Grants: g, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends one request and returns its status, body and headers.
func do(t *testing.T, method, url, token, ctype, body string) (int, string, http.Header) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	return doHeader(t, method, url, h, body)
}

// doHeader sends one request with header and returns its status, body
// and headers.
func doHeader(t *testing.T, method, url string, header http.Header, body string) (int, string, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b)), res.Header
}

// joinWith joins room with a token and the given audio direction,
// sending 440 Hz; with, if given, sets more options.
func joinWith(t *testing.T, s *testServer, room, token string, dir webrtc.RTPTransceiverDirection, with ...func(*pionclient.Options)) *pionclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := pionclient.Options{BaseURL: s.URL, Room: room, Token: token, ToneHz: 440,
		SendOnly: dir == webrtc.RTPTransceiverDirectionSendonly, RecvOnly: dir == webrtc.RTPTransceiverDirectionRecvonly}
	for _, f := range with {
		f(&opts)
	}
	c, err := pionclient.Join(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestTokens: every join, leave and leg request is judged by its token
// first — 401 without a valid one (before the body is read), 403 for
// another room or without the grant — and each grant does what it says.
func TestTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server and WebRTC clients")
	}
	s, a := authServer(t)
	other, _ := auth.New([]byte("another secret, also of 32 bytes or more"), nil)
	expired, _ := auth.New([]byte(testAuthSecret), func() time.Time { return time.Now().Add(-2 * time.Hour) })
	stale, err := expired.Mint(auth.Claims{Identity: "x", Room: "demo", Grants: auth.DefaultGrants(), ExpiresAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	join := s.URL + "/rooms/demo/join"
	huge := strings.Repeat("x", 2<<20) // unread: the token is judged first
	for _, tc := range []struct {
		name, token, body string
		want              int
		reason            string
	}{
		{"no token", "", huge, 401, "no bearer token"},
		{"garbage", "garbage", huge, 401, "malformed"},
		{"another secret", mint(t, other, "demo", "x", auth.DefaultGrants()), huge, 401, "bad signature"},
		{"expired", stale, huge, 401, "expired"},
		{"another room", mint(t, a, "elsewhere", "x", auth.DefaultGrants()), huge, 403, `token is for room "elsewhere"`},
		{"no grants", mint(t, a, "demo", "x", auth.Grants{}), huge, 403, "neither publish nor subscribe"},
	} {
		code, body, h := do(t, "POST", join, tc.token, "application/sdp", tc.body)
		if code != tc.want || !strings.Contains(body, tc.reason) || strings.Contains(body, "\n") {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, code, body, tc.want, tc.reason)
		}
		if code == 401 && h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}

	// Grants shape the answer.
	listener := joinWith(t, s, "demo", mint(t, a, "demo", "lis", auth.Grants{Subscribe: true}), webrtc.RTPTransceiverDirectionSendrecv)
	if dir := audioDirection(listener.Answer); dir != "sendonly" {
		t.Errorf("subscribe only: the answer's audio is %s, want sendonly (we send, we take nothing)", dir)
	}
	talker := joinWith(t, s, "demo", mint(t, a, "demo", "tal", auth.Grants{Publish: true}), webrtc.RTPTransceiverDirectionSendrecv)
	if dir := audioDirection(talker.Answer); dir != "recvonly" {
		t.Errorf("publish only: the answer's audio is %s, want recvonly", dir)
	}
	// Another tone than the talker's: two sources of one tone add up
	// to anything from silence to +6 dB, whatever their phases make it.
	anyRoom := joinWith(t, s, "demo", mint(t, a, auth.AnyRoom, "boss", auth.Grants{Publish: true, Subscribe: true, Admin: true}), webrtc.RTPTransceiverDirectionSendrecv,
		func(o *pionclient.Options) { o.ToneHz = 660 })
	hidden := joinWith(t, s, "demo", mint(t, a, "demo", "recorder", auth.Grants{Subscribe: true, Hidden: true}), webrtc.RTPTransceiverDirectionSendrecv)
	if dir := audioDirection(hidden.Answer); dir != "sendonly" {
		t.Errorf("hidden: the answer's audio is %s, want sendonly", dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitHearing(ctx, listener, 440, 8192); err != nil {
		t.Errorf("the subscriber does not hear the publisher: %v", err)
	}
	for _, hz := range []float64{440, 660} {
		if err := waitHearing(ctx, hidden, hz, 8192); err != nil {
			t.Errorf("the hidden recorder does not hear the room: %v", err)
		}
	}
	g := dial(t, s)
	gctx, gcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer gcancel()
	list := func() map[string]*mcuv1.Participant {
		res, err := g.ListParticipants(gctx, &mcuv1.ListParticipantsRequest{RoomId: "demo"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*mcuv1.Participant{}
		for _, p := range res.GetParticipants() {
			out[p.GetIdentity()] = p
		}
		return out
	}
	ps := list()
	if len(ps) != 3 || ps["recorder"] != nil || !ps["lis"].GetListener() || ps["tal"].GetListener() {
		t.Errorf("listed %v: want lis (a listener), tal and boss, and not the hidden recorder", ps)
	}

	// A second join of an identity replaces the first.
	again := joinWith(t, s, "demo", mint(t, a, "demo", "tal", auth.Grants{Publish: true}), webrtc.RTPTransceiverDirectionSendrecv)
	if ps := list(); len(ps) != 3 || ps["tal"].GetId() != idOf(again) {
		t.Errorf("after tal joined again: %v", ps)
	}
	if code, _, _ := do(t, "DELETE", s.URL+talker.Location, mint(t, a, "demo", "tal", auth.DefaultGrants()), "", ""); code != 404 {
		t.Errorf("leaving the replaced participant: %d, want 404", code)
	}

	// Leaving: one's own token or an admin's.
	lisLeave := s.URL + listener.Location
	if code, body, _ := do(t, "DELETE", lisLeave, mint(t, a, "demo", "tal", auth.DefaultGrants()), "", ""); code != 403 || !strings.Contains(body, "only the participant itself") {
		t.Errorf("another's token removing lis: %d %q", code, body)
	}
	if code, _, _ := do(t, "DELETE", lisLeave, "", "", ""); code != 401 {
		t.Errorf("removing lis without a token: %d", code)
	}
	if code, _, _ := do(t, "DELETE", lisLeave, mint(t, a, "demo", "lis", auth.DefaultGrants()), "", ""); code != 204 {
		t.Errorf("lis leaving with its own token: %d", code)
	}
	if code, _, _ := do(t, "DELETE", s.URL+again.Location, mint(t, a, "demo", "admin", auth.Grants{Admin: true}), "", ""); code != 204 {
		t.Errorf("an admin removing tal: %d", code)
	}

	// Legs need the admin grant.
	leg := `{"remote":"192.0.2.1:4000","codec":"PCMU"}`
	if code, body, _ := do(t, "POST", s.URL+"/rooms/demo/rtp", mint(t, a, "demo", "x", auth.DefaultGrants()), "application/json", leg); code != 403 || !strings.Contains(body, "admin") {
		t.Errorf("a leg without admin: %d %q", code, body)
	}
	_ = anyRoom
}

// TestConfigTURNCredentials: /config gives STUN to anyone and TURN, with
// ephemeral credentials coturn's use-auth-secret accepts, only with a
// valid token; the join's Link headers carry the same scheme.
func TestConfigTURNCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server")
	}
	s, a := authServer(t)
	servers := func(token string) []transport.ICEServer {
		code, body, _ := do(t, "GET", s.URL+"/config", token, "", "")
		if code != 200 {
			t.Fatalf("/config: %d %s", code, body)
		}
		var cfg struct{ IceServers []transport.ICEServer }
		if err := json.Unmarshal([]byte(body), &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg.IceServers
	}
	if got := servers(""); len(got) != 1 || got[0].URLs[0] != "stun:127.0.0.1:3478" || got[0].Credential != "" {
		t.Fatalf("without a token: %+v, want the STUN server alone", got)
	}
	got := servers(mint(t, a, "demo", "alice", auth.DefaultGrants()))
	if len(got) != 2 || got[1].URLs[0] != "turn:127.0.0.1:3478" {
		t.Fatalf("with a token: %+v", got)
	}
	turn := got[1]
	exp, user, ok := strings.Cut(turn.Username, ":")
	if !ok || user != "alice" {
		t.Fatalf("TURN username %q, want expiry:alice", turn.Username)
	}
	if unix, err := strconv.ParseInt(exp, 10, 64); err != nil || time.Until(time.Unix(unix, 0)) < time.Hour {
		t.Fatalf("TURN username %q: the expiry is not a unix time hours ahead", turn.Username)
	}
	mac := hmac.New(sha1.New, []byte(testTURNSecret))
	mac.Write([]byte(turn.Username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); turn.Credential != want {
		t.Fatalf("TURN password %q, want HMAC-SHA1 %q", turn.Credential, want)
	}
}

// TestAdminListener: metrics and profiles are not on the public port; the
// admin listener serves them; /readyz says ready.
func TestAdminListener(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server")
	}
	s := startServer(t, func(c *Config) { c.PProf = true })
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if code, _, _ := do(t, "GET", s.URL+path, "", "", ""); code != 404 {
			t.Errorf("public %s: %d, want 404", path, code)
		}
		if code, _, _ := do(t, "GET", s.Admin+path, "", "", ""); code != 200 {
			t.Errorf("admin %s: %d, want 200", path, code)
		}
	}
	if code, body, _ := do(t, "GET", s.URL+"/readyz", "", "", ""); code != 200 || body != "ready" {
		t.Errorf("/readyz: %d %q", code, body)
	}
}

// TestLimits: each limit answers with its status and reason and changes
// nothing else: the per-IP join rate (429 + Retry-After), the server's
// rooms (503 + Retry-After), media sections per offer (400).
func TestLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server and a WebRTC client")
	}
	s := startServer(t, func(c *Config) { c.JoinRate, c.JoinBurst, c.MaxRooms = 1, 3, 1 })
	joinWith(t, s, "one", "", webrtc.RTPTransceiverDirectionSendrecv) // 1 of the burst of 3
	code, body, h := do(t, "POST", s.URL+"/rooms/two/join", "", "application/sdp", pcmuOnlyOffer)
	if code != 400 { // 2: refused for what it is, not for the limits
		t.Fatalf("bad offer: %d %q", code, body)
	}
	code, body, h = do(t, "POST", s.URL+"/rooms/two/join", "", "application/sdp", fiveSectionOffer)
	if code != 400 || !strings.Contains(body, "5 media sections") {
		t.Errorf("five media sections: %d %q", code, body)
	}
	code, body, h = do(t, "POST", s.URL+"/rooms/two/join", "", "application/sdp", pcmuOnlyOffer)
	if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(body, "too many requests") {
		t.Errorf("4th request in a second: %d %q Retry-After %q", code, body, h.Get("Retry-After"))
	}
	time.Sleep(1100 * time.Millisecond) // a token back
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "two"})
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "limit of 1 rooms") {
		t.Errorf("a second room beyond -max-rooms 1: %v", err)
	}
	g := dial(t, s)
	res, err := g.ListRooms(ctx, &mcuv1.ListRoomsRequest{})
	if err != nil || len(res.GetRooms()) != 1 || res.GetRooms()[0].GetParticipants() != 1 {
		t.Errorf("rooms after the refusals: %v %v", res, err)
	}
}

// fiveSectionOffer has five m-lines, one more than a participant needs.
var fiveSectionOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" + strings.Repeat("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n", 5)

// TestConnectDeadline: a client that never completes ICE (it posts an
// offer and ignores the answer) holds a place for the connect timeout and
// is then dropped and counted.
func TestConnectDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server and a WebRTC client")
	}
	s := startServer(t, func(c *Config) { c.connectTimeout = 500 * time.Millisecond })
	_, offer := loopoffer.New(t, false) // a client that never connects
	code, body, _ := do(t, "POST", s.URL+"/rooms/half/join", "", "application/sdp", offer)
	if code != 201 {
		t.Fatalf("join: %d %s", code, body)
	}
	if n := s.metric(t, "mcu_participants"); n != 1 {
		t.Fatalf("%v participants while it connects, want 1", n)
	}
	s.waitMetric(t, "mcu_participants", 0, 5*time.Second)
	if n := s.metric(t, "mcu_connect_timeouts_total"); n != 1 {
		t.Errorf("connect timeouts %v, want 1", n)
	}
}

// TestDrain: on the first signal the server reports not ready and refuses
// newcomers (503 + Retry-After) while its rooms go on; when the last
// participant leaves it stops.
func TestDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server and WebRTC clients")
	}
	s := startServer(t, func(c *Config) { c.DrainTimeout = 20 * time.Second })
	a := joinWith(t, s, "d", "", webrtc.RTPTransceiverDirectionSendrecv)
	b := joinWith(t, s, "d", "", webrtc.RTPTransceiverDirectionSendrecv)
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _, _ := do(t, "GET", s.URL+"/readyz", "", "", ""); code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never said 503")
		}
	}
	code, body, h := do(t, "POST", s.URL+"/rooms/d/join", "", "application/sdp", pcmuOnlyOffer)
	if code != 503 || h.Get("Retry-After") == "" || !strings.Contains(body, "draining") {
		t.Errorf("a join while draining: %d %q Retry-After %q", code, body, h.Get("Retry-After"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitHearing(ctx, a, 440, 8192); err != nil {
		t.Errorf("the room stopped while draining: %v", err)
	}
	select {
	case err := <-stopped:
		t.Fatalf("stopped with participants in a room: %v", err)
	default:
	}
	for _, c := range []*pionclient.Client{a, b} {
		if code, err := c.Leave(ctx); err != nil || code != 204 {
			t.Fatalf("leave: %d %v", code, err)
		}
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the drain did not end when the rooms emptied")
	}
}

// audioDirection is the direction attribute of the answer's audio m-line.
func audioDirection(sdp string) string {
	audio := false
	for _, l := range strings.Split(sdp, "\r\n") {
		switch {
		case strings.HasPrefix(l, "m="):
			audio = strings.HasPrefix(l, "m=audio")
		case audio && (l == "a=sendrecv" || l == "a=sendonly" || l == "a=recvonly" || l == "a=inactive"):
			return strings.TrimPrefix(l, "a=")
		}
	}
	return ""
}

// idOf is the participant ID in a client's Location.
func idOf(c *pionclient.Client) string { return c.Location[strings.LastIndex(c.Location, "/")+1:] }
