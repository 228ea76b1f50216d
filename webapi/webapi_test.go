package webapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeEvents is a broker the test publishes to by hand.
type fakeEvents struct {
	mu   sync.Mutex
	subs map[chan room.Event]bool
}

func (f *fakeEvents) Subscribe(media.RoomID) (<-chan room.Event, func()) {
	ch := make(chan room.Event, 16)
	f.mu.Lock()
	f.subs[ch] = true
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

func (f *fakeEvents) publish(ev room.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		ch <- ev
	}
}

func (f *fakeEvents) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// open answers every request as an admin of every room (auth off).
func open(http.ResponseWriter, *http.Request, string, auth.Grant) (auth.Claims, bool) {
	return auth.Claims{Room: auth.AnyRoom, Grants: auth.Grants{Subscribe: true, Admin: true}}, true
}

// withTokens checks tokens as the transport's front door does.
func withTokens(a *auth.Authority) Authorize {
	return func(w http.ResponseWriter, r *http.Request, rm string, need auth.Grant) (auth.Claims, bool) {
		tok, err := auth.BearerToken(r.Header.Get("Authorization"))
		var c auth.Claims
		if err == nil {
			c, err = a.Verify(tok)
		}
		if err != nil {
			httpError(w, http.StatusUnauthorized, err.Error())
			return c, false
		}
		if err := c.Allows(rm, need); err != nil {
			httpError(w, http.StatusForbidden, err.Error())
			return c, false
		}
		return c, true
	}
}

type fixture struct {
	srv    *httptest.Server
	h      *Handler
	events *fakeEvents
	rooms  *room.Manager
}

func newFixture(t *testing.T, authorize Authorize) *fixture {
	t.Helper()
	m, err := room.NewManager(room.Config{Registry: &codec.Registry{}, Defaults: room.DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateRoom("r", room.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{events: &fakeEvents{subs: map[chan room.Event]bool{}}, rooms: m}
	f.h = New(Config{Rooms: m, Events: f.events, Authorize: authorize, KeepAlive: 50 * time.Millisecond})
	mux := http.NewServeMux()
	f.h.Register(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.h.Close()
		f.srv.Close()
		_ = m.Close()
	})
	return f
}

// sseEvent is one server-sent event.
type sseEvent struct{ id, name, data string }

// readEvents reads events from a stream into a channel until it ends.
func readEvents(body io.Reader) <-chan sseEvent {
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out
}

func next(t *testing.T, evs <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-evs:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return sseEvent{}
}

// TestEventsInOrder: a snapshot first, then every event in order with
// increasing ids; the handler goes (its subscription too) when the
// client does, and Close ends the streams still open.
func TestEventsInOrder(t *testing.T) {
	f := newFixture(t, open)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/rooms/r/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	evs := readEvents(res.Body)
	snap := next(t, evs)
	var s snapshotJSON
	if err := json.Unmarshal([]byte(snap.data), &s); err != nil || snap.name != "snapshot" || snap.id != "1" || s.Room != "r" || s.Layout != "grid" {
		t.Fatalf("first event %+v (%v)", snap, err)
	}
	types := []room.EventType{room.EventJoined, room.EventTalkingStarted, room.EventPresentationStarted, room.EventTalkingStopped, room.EventLeft}
	for i, typ := range types {
		f.events.publish(room.Event{Type: typ, Room: "r", Participant: media.ParticipantID(rune('a' + i)), At: time.Unix(int64(i), 0)})
	}
	for i, typ := range types {
		ev := next(t, evs)
		var e eventJSON
		if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
			t.Fatal(err)
		}
		if ev.name != typ.String() || e.Type != typ.String() || e.Participant != string(rune('a'+i)) || ev.id != string(rune('2'+i)) {
			t.Fatalf("event %d: %+v, want %s", i, ev, typ)
		}
	}
	// Idle: keep-alive comments, no events.
	time.Sleep(120 * time.Millisecond)
	cancel()
	waitFor(t, func() bool { return f.events.count() == 0 }, "the stream's subscription outlived its client")

	// A stream still open when the handler closes ends.
	res2, err := http.Get(f.srv.URL + "/rooms/r/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Body.Close()
	evs2 := readEvents(res2.Body)
	next(t, evs2)
	f.h.Close()
	for range evs2 {
	}
}

func waitFor(t *testing.T, cond func() bool, why string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal(why)
		}
	}
}

// TestTokens: events need a valid token for the room with the subscribe
// or admin grant; the layout the admin grant.
func TestTokens(t *testing.T) {
	a, err := auth.New([]byte("0123456789abcdef0123456789abcdef"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, withTokens(a))
	mint := func(c auth.Claims) string {
		c.Identity, c.ExpiresAt = "u", time.Now().Add(time.Hour)
		tok, err := a.Mint(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tt := range []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"no token", "GET", "/rooms/r/events", "", "", 401},
		{"bad token", "GET", "/rooms/r/events", "garbage", "", 401},
		{"other room", "GET", "/rooms/r/events", mint(auth.Claims{Room: "s", Grants: auth.DefaultGrants()}), "", 403},
		{"publish only", "GET", "/rooms/r/events", mint(auth.Claims{Room: "r", Grants: auth.Grants{Publish: true}}), "", 403},
		{"unknown room", "GET", "/rooms/nope/events", mint(auth.Claims{Room: auth.AnyRoom, Grants: auth.DefaultGrants()}), "", 404},
		{"layout without admin", "PUT", "/rooms/r/layout", mint(auth.Claims{Room: "r", Grants: auth.DefaultGrants()}), `{"type":"speaker"}`, 403},
		{"bad layout", "PUT", "/rooms/r/layout", mint(auth.Claims{Room: "r", Grants: auth.Grants{Admin: true}}), `{"type":"spiral"}`, 400},
		{"layout", "PUT", "/rooms/r/layout", mint(auth.Claims{Room: "r", Grants: auth.Grants{Admin: true}}), `{"type":"speaker"}`, 200},
		{"mute a stranger", "POST", "/rooms/r/participants/x/mute", mint(auth.Claims{Room: "r", Grants: auth.DefaultGrants()}), `{"audio":true}`, 404},
		{"mute nothing", "POST", "/rooms/r/participants/x/mute", mint(auth.Claims{Room: "r", Grants: auth.Grants{Admin: true}}), `{}`, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, f.srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tt.want {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("%d %s, want %d", res.StatusCode, b, tt.want)
			}
		})
	}
	r, _ := f.rooms.Room("r")
	if l, _ := r.Layout(""); l.Type != room.LayoutSpeaker {
		t.Errorf("layout %v after the admin's PUT", l.Type)
	}
}
