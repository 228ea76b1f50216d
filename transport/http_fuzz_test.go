package transport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/sdpfrag"
	"github.com/mcu-project/mcu/internal/testkit/loopoffer"
	"github.com/mcu-project/mcu/media"
)

// fakeRooms is the room layer for handler tests: rooms named "full" are
// full, "gone" do not exist, and a join anywhere else succeeds when admit
// lets the participant in. It closes what joined when told to.
type fakeRooms struct {
	admit func(JoinRequest) bool
	mu    sync.Mutex
	in    []Participant
}

func (f *fakeRooms) Join(room media.RoomID, req JoinRequest) (media.ParticipantID, error) {
	switch {
	case room == "full":
		return "", fmt.Errorf("%w: 3 participants", ErrRoomFull)
	case room == "gone", !f.admit(req):
		return "", fmt.Errorf("%w: unknown room %s", ErrNotFound, room)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.in = append(f.in, req.Peer)
	return media.ParticipantID(fmt.Sprint("p", len(f.in))), nil
}

func (f *fakeRooms) Leave(media.RoomID, media.ParticipantID) error { return nil }

func (f *fakeRooms) VideoCodecs(media.RoomID) []string { return []string{"video/VP8", "video/H264"} }

func (f *fakeRooms) Identity(media.RoomID, media.ParticipantID) (string, error) { return "", nil }

func (f *fakeRooms) Fail(media.RoomID, media.ParticipantID, error) error { return nil }

// closeAll closes every participant that joined.
func (f *fakeRooms) closeAll() {
	f.mu.Lock()
	in := f.in
	f.in = nil
	f.mu.Unlock()
	for _, p := range in {
		_ = p.Close()
	}
}

// fuzzHang is how long a request may take before the fuzz targets call it
// a hang: the join handler waits at most a second for ICE gathering.
const fuzzHang = 10 * time.Second

// serveFuzz runs one request through the API's routes and checks what
// every answer must be: below 500, and when refused a one-line reason.
// The URL is set after building the request: a fuzzed path need not
// parse.
func serveFuzz(t *testing.T, mux *http.ServeMux, method string, u *url.URL, header http.Header, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	req.URL = u
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	// A hang is a failure the fuzzer cannot see: panicking on another
	// goroutine ends the worker, and the fuzzer keeps the input.
	hung := time.AfterFunc(fuzzHang, func() {
		panic(fmt.Sprintf("%s %v (%d bytes) still unanswered after %v", method, u, len(body), fuzzHang))
	})
	mux.ServeHTTP(w, req)
	hung.Stop()
	if w.Code >= 500 {
		t.Fatalf("%s %v: %d %q", method, u, w.Code, w.Body)
	}
	if w.Code >= 400 {
		if reason := strings.TrimSuffix(w.Body.String(), "\n"); strings.Contains(reason, "\n") {
			t.Fatalf("%s %v: %d with a reason of several lines: %q", method, u, w.Code, reason)
		}
	}
	return w
}

// FuzzLegRequest: any body and room name on POST /rooms/{room}/rtp gets an
// answer below 500 with a one-line reason, or 201 with the leg's ID and
// address; nothing is sent anywhere but to the test's own socket (the only
// remote the fake rooms admit), and every leg's socket is freed.
func FuzzLegRequest(f *testing.F) {
	sink := listenLoopback(f, "127.0.0.1")
	sinkAddr := sink.LocalAddr().String()
	for _, tc := range []struct{ room, body string }{
		{"call", `{"remote":"` + sinkAddr + `","codec":"PCMU","name":"desk phone"}`},
		{"call", `{"remote":"` + sinkAddr + `","codec":"opus"}`},
		{"call", `{"remote":"127.0.0.1:9","codec":"PCMA"}`},
		{"full", `{"remote":"` + sinkAddr + `","codec":"PCMU"}`},
		{"gone", `{"remote":"` + sinkAddr + `","codec":"PCMU"}`},
		{"call", `{"remote":"203.0.113.9:5004","codec":"PCMU"}`},
		{"call", `{"remote":"[::1]:5004","codec":"PCMU"}`},
		{"call", `{"remote":"[::ffff:127.0.0.1]:5004","codec":"PCMU"}`},
		{"call", `{"remote":"169.254.1.1:5004","codec":"PCMU"}`},
		{"call", `{"remote":"phone.example.org:5004","codec":"PCMU"}`},
		{"call", `{"remote":"127.0.0.1:0","codec":"G729"}`},
		{"call", `{"remote":"127.0.0.1:5004","codec":"PCMU","name":"a\u0000b"}`},
		{"call", `{"remote":"127.0.0.1:5004","codec":"PCMU","x":1}`},
		{"call", `{"remote":`},
		{"call", ``},
		{"a b", `{"remote":"127.0.0.1:5004","codec":"PCMU"}`},
		{"../x", `{}`},
	} {
		f.Add(tc.room, []byte(tc.body))
	}
	cfg := Config{LegAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Logger: slog.New(slog.DiscardHandler)}
	eng := newTestEngine(f, cfg)
	rooms := &fakeRooms{admit: func(req JoinRequest) bool {
		leg, ok := req.Peer.(*RTPLeg)
		return ok && leg.remote.Load().String() == sinkAddr
	}}
	mux := http.NewServeMux()
	NewServer(eng, rooms, FrontDoor{}).Register(mux)
	f.Fuzz(func(t *testing.T, room string, body []byte) {
		defer rooms.closeAll()
		w := serveFuzz(t, mux, http.MethodPost, &url.URL{Path: "/rooms/" + room + "/rtp"}, http.Header{"Content-Type": {"application/json"}}, body)
		if w.Code == http.StatusCreated {
			var leg struct{ ID, Local string }
			if err := json.Unmarshal(w.Body.Bytes(), &leg); err != nil || leg.ID == "" {
				t.Fatalf("201 with %q", w.Body)
			}
			if _, err := netip.ParseAddrPort(leg.Local); err != nil {
				t.Fatalf("201 with local address %q", leg.Local)
			}
		}
		rooms.closeAll()
		eng.legs.mu.Lock()
		defer eng.legs.mu.Unlock()
		if n := len(eng.legs.live); n != 0 {
			t.Fatalf("%d legs booked after the request", n)
		}
	})
}

// FuzzJoin: any offer, content type, display name and room name on POST
// /rooms/{room}/join gets an answer below 500 with a one-line reason, or
// 201 with an SDP answer and a Location, from a real engine (loopback
// candidates only); whatever joined is closed.
func FuzzJoin(f *testing.F) {
	_, audio := loopoffer.New(f, false)
	_, video := loopoffer.New(f, true)
	for _, offer := range []string{audio, video, ""} {
		f.Add("call", "Ann", "application/sdp", []byte(offer))
	}
	for _, tc := range offerCases {
		f.Add("call", "", "application/sdp", []byte(tc.sdp))
	}
	f.Add("full", "Bob", "application/sdp", []byte(audio))
	f.Add("call", "a\x00b", "application/sdp", []byte(audio))
	f.Add("call", strings.Repeat("é", 65), "", []byte(audio))
	f.Add("call", "", "application/json", []byte(`{"sdp":"v=0"}`))
	f.Add("a b", "", "application/sdp", []byte(audio))
	cfg := Config{Interfaces: []string{"lo"}, IncludeLoopback: true, GatherTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)}
	eng := newTestEngine(f, cfg)
	rooms := &fakeRooms{admit: func(JoinRequest) bool { return true }}
	mux := http.NewServeMux()
	NewServer(eng, rooms, FrontDoor{}).Register(mux)
	f.Fuzz(func(t *testing.T, room, name, contentType string, offer []byte) {
		defer rooms.closeAll()
		header := http.Header{}
		if contentType != "" {
			header.Set("Content-Type", contentType)
		}
		u := &url.URL{Path: "/rooms/" + room + "/join", RawQuery: url.Values{"name": {name}}.Encode()}
		w := serveFuzz(t, mux, http.MethodPost, u, header, offer)
		if w.Code == http.StatusCreated {
			if !strings.HasPrefix(w.Body.String(), "v=0") || w.Header().Get("Location") == "" {
				t.Fatalf("201 with %q, Location %q", w.Body, w.Header().Get("Location"))
			}
		}
	})
}

// FuzzPatch: any If-Match, content type and body PATCHed to a WHIP
// session gets 204 (trickle), 200 with a fragment and a new ETag (ICE
// restart) or a refusal below 500 with a one-line reason, from a real
// engine and peer (the session's client never connects).
func FuzzPatch(f *testing.F) {
	_, offer := loopoffer.New(f, false)
	ufrag := sdpfrag.Ufrag(offer)
	const fragType = "application/trickle-ice-sdpfrag"
	cand := "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
	for _, tc := range []struct{ ifMatch, ctype, body string }{
		{"", fragType, "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:x\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" + cand},
		{`"stale"`, fragType, "m=audio 9 RTP/AVP 0\r\n" + cand},
		{"*", fragType, "a=ice-ufrag:fresh\r\na=ice-pwd:a-new-password-of-24-chars\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" + cand},
		{"*", fragType, "a=ice-ufrag:fresh2\r\na=ice-pwd:p\r\nm=video 9 RTP/AVP 0\r\na=mid:9\r\na=candidate:x\r\n"},
		{"*", fragType, "m=audio 9 RTP/AVP 0\r\n"},
		{"", fragType, "m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 host.example 9 typ host\r\n"},
		{"", fragType, "m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 4f1c-browser.local 9 typ host\r\na=end-of-candidates\r\n"},
		{"", "application/sdp", "v=0"},
	} {
		f.Add(tc.ifMatch, tc.ctype, []byte(tc.body))
	}
	cfg := Config{Interfaces: []string{"lo"}, IncludeLoopback: true, GatherTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)}
	eng := newTestEngine(f, cfg)
	rooms := &fakeRooms{admit: func(JoinRequest) bool { return true }}
	f.Cleanup(rooms.closeAll)
	mux := http.NewServeMux()
	NewServer(eng, rooms, FrontDoor{}).Register(mux)
	req := httptest.NewRequest(http.MethodPost, "/whip/call", strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	session := w.Header().Get("Location")
	if w.Code != http.StatusCreated || session == "" {
		f.Fatalf("WHIP publish: %d %q", w.Code, w.Body)
	}
	f.Fuzz(func(t *testing.T, ifMatch, contentType string, body []byte) {
		header := http.Header{"Content-Type": {contentType}}
		if ifMatch != "" {
			header.Set("If-Match", ifMatch)
		}
		w := serveFuzz(t, mux, http.MethodPatch, &url.URL{Path: session}, header, body)
		switch w.Code {
		case http.StatusOK:
			if _, err := sdpfrag.Parse(w.Body.String()); err != nil || w.Header().Get("ETag") == "" {
				t.Fatalf("200 with %q (%v), ETag %q", w.Body, err, w.Header().Get("ETag"))
			}
		case http.StatusNoContent, http.StatusBadRequest, http.StatusPreconditionFailed, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("PATCH answered %d %q", w.Code, w.Body)
		}
	})
}
