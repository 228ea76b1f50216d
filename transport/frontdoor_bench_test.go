package transport

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/internal/testkit/loopoffer"
)

// BenchmarkJoin is one join through the HTTP API end to end, with join
// tokens off and on: a real HTTP round trip on loopback, the front door,
// the offer's checks, a real Engine's answer (a PeerConnection gathering
// on loopback) and the room's bookkeeping (fake rooms). The difference
// between the two is what checking a token adds to a join.
func BenchmarkJoin(b *testing.B) {
	_, offer := loopoffer.New(b, false)
	authority, err := auth.New([]byte("a benchmark secret of at least 32 bytes"), nil)
	if err != nil {
		b.Fatal(err)
	}
	token, err := authority.Mint(auth.Claims{Identity: "alice", Room: "bench", Grants: auth.DefaultGrants(), ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		door  FrontDoor
		token string
	}{
		{"auth=off", FrontDoor{}, ""},
		{"auth=on", FrontDoor{Auth: authority}, token},
	} {
		b.Run(tc.name, func(b *testing.B) {
			eng := newTestEngine(b, Config{Interfaces: []string{"lo"}, IncludeLoopback: true, Logger: slog.New(slog.DiscardHandler)})
			rooms := &fakeRooms{admit: func(JoinRequest) bool { return true }}
			mux := http.NewServeMux()
			NewServer(eng, rooms, tc.door).Register(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			defer rooms.closeAll()
			client := srv.Client()
			b.ReportAllocs()
			for b.Loop() {
				req, err := http.NewRequest(http.MethodPost, srv.URL+"/rooms/bench/join", strings.NewReader(offer))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/sdp")
				if tc.token != "" {
					req.Header.Set("Authorization", "Bearer "+tc.token)
				}
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				answer, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					b.Fatalf("join: %s %s", res.Status, answer)
				}
				// Peers left open would pile up sockets and goroutines
				// and slow the later joins: close each, off the clock.
				b.StopTimer()
				rooms.closeAll()
				b.StartTimer()
			}
		})
	}
}
