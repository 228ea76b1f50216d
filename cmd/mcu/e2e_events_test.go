package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// pageEvent is one server-sent event of GET /rooms/{room}/events.
type pageEvent struct {
	Name string
	ID   string
	Data struct {
		Type         string `json:"type"`
		Participant  string `json:"participant"`
		Participants []struct {
			Name string `json:"name"`
		} `json:"participants"`
		State *struct {
			Name  string `json:"name"`
			Muted bool   `json:"muted"`
		} `json:"state"`
	}
}

// openEvents opens a room's event stream with token; it is closed when
// the test ends. The events arrive on the channel, which closes with the
// stream.
func openEvents(t *testing.T, url, token string) <-chan pageEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		t.Fatalf("event stream: %d", res.StatusCode)
	}
	out := make(chan pageEvent, 256)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev pageEvent
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "" && ev.Name != "":
				out <- ev
				ev = pageEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[7:]
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &ev.Data)
			}
		}
	}()
	return out
}

// TestEventStream: the page's event stream is token-checked like joins;
// it starts with the room as it is, then carries the room's events in
// order, the same as the gRPC event stream: a join (with the name), the
// newcomer talking, its mute (set through the page's mute request with
// its own token) and its leave.
func TestEventStream(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	s, a := authServer(t)
	url := s.URL + "/rooms/ev/events"
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"bad token", "nope", http.StatusUnauthorized},
		{"other room", mint(t, a, "other", "x", auth.DefaultGrants()), http.StatusForbidden},
		{"publish only", mint(t, a, "ev", "x", auth.Grants{Publish: true}), http.StatusForbidden},
	} {
		if code, body, _ := do(t, "GET", url, tc.token, "", ""); code != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, code, body, tc.want)
		}
	}

	joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "ev", Name: "alice", Token: mint(t, a, "ev", "alice", auth.DefaultGrants())})
	events := openEvents(t, url, mint(t, a, "ev", "watcher", auth.Grants{Subscribe: true}))
	snap := <-events
	if snap.Name != "snapshot" || len(snap.Data.Participants) != 1 || snap.Data.Participants[0].Name != "alice" {
		t.Fatalf("first event %+v, want the snapshot with alice", snap)
	}
	// The gRPC stream of the same room, from now on.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	grpcEvents, err := dial(t, s).StreamEvents(ctx, &mcuv1.StreamEventsRequest{RoomId: "ev"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // both streams subscribed

	bobToken := mint(t, a, "ev", "bob", auth.DefaultGrants())
	bob := joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "ev", Name: "bob", Token: bobToken, ToneHz: 440})
	var seen []pageEvent
	next := func(want string) pageEvent {
		t.Helper()
		for deadline := time.After(10 * time.Second); ; {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("the stream ended")
				}
				seen = append(seen, ev)
				if ev.Name == want {
					return ev
				}
			case <-deadline:
				t.Fatalf("no %s event; saw %v", want, names(seen))
			}
		}
	}
	if ev := next("joined"); ev.Data.State == nil || ev.Data.State.Name != "bob" {
		t.Fatalf("joined %+v, want bob's state", ev.Data)
	}
	next("talking-started")
	if code, body, _ := do(t, "POST", s.URL+bob.Location+"/mute", bobToken, "application/json", `{"audio":true}`); code != http.StatusNoContent {
		t.Fatalf("bob's mute: %d %s", code, body)
	}
	if ev := next("participant-updated"); ev.Data.State == nil || !ev.Data.State.Muted {
		t.Fatalf("update %+v, want bob muted", ev.Data)
	}
	if code, _, _ := do(t, "POST", s.URL+bob.Location+"/mute", mint(t, a, "ev", "mallory", auth.DefaultGrants()), "application/json", `{"audio":false}`); code != http.StatusForbidden {
		t.Errorf("someone else's token muted bob: %d", code)
	}
	if _, err := bob.Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	next("left")
	for i := 1; i < len(seen); i++ {
		if prev, _ := strconv.Atoi(seen[i-1].ID); seen[i].ID != strconv.Itoa(prev+1) {
			t.Fatalf("event ids %s then %s", seen[i-1].ID, seen[i].ID)
		}
	}

	// The gRPC stream carried the same events in the same order.
	var fromGRPC []string
	for len(fromGRPC) < len(seen) {
		ev, err := grpcEvents.Recv()
		if err != nil {
			t.Fatal(err)
		}
		fromGRPC = append(fromGRPC, grpcName(ev.GetType()))
	}
	t.Logf("page events %v", names(seen))
	if got := names(seen); !slices.Equal(got, fromGRPC) {
		t.Errorf("page events %v, gRPC events %v", got, fromGRPC)
	}
}

func names(evs []pageEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Name)
	}
	return out
}

// grpcName is the page's name of a gRPC event type.
func grpcName(t mcuv1.EventType) string {
	s := strings.ToLower(strings.TrimPrefix(t.String(), "EVENT_TYPE_"))
	s = strings.TrimPrefix(s, "participant_")
	if t == mcuv1.EventType_EVENT_TYPE_PARTICIPANT_UPDATED {
		s = "participant_updated"
	}
	return strings.ReplaceAll(s, "_", "-")
}
