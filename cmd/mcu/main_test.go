package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/transport"
	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// server, room, peer and client must have been shut down. Run with
// natsServerEnv set, the test binary is a NATS server instead.
func TestMain(m *testing.M) {
	if spec := os.Getenv(natsServerEnv); spec != "" {
		os.Exit(serveNATS(spec))
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if built.dir != "" {
			_ = os.RemoveAll(built.dir)
		}
		os.Exit(code)
	}))
}

// testServer is an mcu running in-process on loopback.
type testServer struct {
	URL   string
	GRPC  string // host:port of the gRPC API
	Admin string // base URL of the admin listener (metrics)
	stop  func() error
}

// startServer runs the real server wiring (run) on 127.0.0.1 with
// loopback-only ICE and stops it when the test ends. Tests join from one
// address many times a second, so the per-IP join limit is off, and they
// stop without a drain, unless they set them; admission counts
// participants only.
func startServer(t testing.TB, mutate ...func(*Config)) *testServer {
	t.Helper()
	cfg := defaultConfig()
	cfg.HTTP = "127.0.0.1:0"
	cfg.GRPC = "127.0.0.1:0"
	cfg.AdminHTTP = "127.0.0.1:0"
	cfg.Interfaces = []string{"lo"}
	cfg.IncludeLoopback = true
	cfg.JoinRate, cfg.DrainTimeout = 0, 0
	// The tests' own clients load the machine: admission by CPU and tick
	// lateness would measure them, not the server.
	cfg.CPUTarget, cfg.TickTarget = 0, 0
	for _, f := range mutate {
		f(&cfg)
	}
	level := slog.LevelWarn
	if os.Getenv("MCU_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan listening, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, log, func(l listening) { addr <- l }) }()
	var ts *testServer
	select {
	case a := <-addr:
		ts = &testServer{URL: "http://" + a.HTTP.String()}
		if a.GRPC != nil {
			ts.GRPC = a.GRPC.String()
		}
		if a.Admin != nil {
			ts.Admin = "http://" + a.Admin.String()
		}
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	var stopped bool
	var stopErr error
	ts.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			stopErr = <-done
		}
		return stopErr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	})
	return ts
}

// metric reads one unlabelled sample from /metrics.
func (s *testServer) metric(t *testing.T, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(scrapeMetrics(t, s))
	if m == nil {
		t.Fatalf("metric %s not found", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitMetric polls until the metric equals want or the deadline passes.
func (s *testServer) waitMetric(t *testing.T, name string, want float64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := s.metric(t, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHealthzAndPage(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.ICEServers = []transport.ICEServer{{URLs: []string{"turn:turn.example.org:3478"}, Username: "u", Credential: "p"}}
	})
	for path, want := range map[string]string{"/healthz": "ok", "/": "<title>MCU</title>", "/static/app.js": "RTCPeerConnection",
		"/config": `{"iceServers":[{"urls":["turn:turn.example.org:3478"],"username":"u","credential":"p"}]}`} {
		res, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, res.StatusCode, want)
		}
	}
	// A join advertises the same servers in Link headers (as WHIP does).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "links", RecvOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if want := `<turn:turn.example.org:3478>; rel="ice-server"; username="u"; credential="p"; credential-type="password"`; len(c.ICEServerLinks) != 1 || c.ICEServerLinks[0] != want {
		t.Fatalf("Link headers %q, want [%s]", c.ICEServerLinks, want)
	}
}
