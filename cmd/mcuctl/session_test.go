package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/api"
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/g711"
	"github.com/mcu-project/mcu/codec/h264"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"github.com/mcu-project/mcu/transport"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

var update = flag.Bool("update", false, "rewrite testdata/session.golden")

// TestMain fails the package if any goroutine outlives the tests: every
// server, room, leg and client connection must have been closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startServer serves the real API (room manager, event broker, transport
// for RTP legs, tokens minted by tokens, nil: auth off) on a loopback port
// until the test ends, and returns its address.
func startServer(t *testing.T, tokens *auth.Authority, opts ...grpc.ServerOption) string {
	t.Helper()
	var reg codec.Registry
	if err := errors.Join(opus.Register(&reg), g711.Register(&reg), vpx.Register(&reg), h264.Register(&reg)); err != nil {
		t.Fatal(err)
	}
	var logOut io.Writer = io.Discard
	if os.Getenv("MCU_TEST_DEBUG") != "" {
		logOut = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	broker := api.NewBroker()
	rooms, err := room.NewManager(room.Config{Registry: &reg, Defaults: room.DefaultOptions(), Logger: log, OnEvent: broker.Publish})
	if err != nil {
		t.Fatal(err)
	}
	// The session's leg calls a loopback address, which legs may only
	// send to when allowed.
	eng, err := transport.NewEngine(transport.Config{Interfaces: []string{"lo"}, IncludeLoopback: true, Logger: log,
		LegAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	mcuv1.RegisterMCUServer(srv, api.NewServer(apiRooms{rooms, transport.NewServer(eng, joiner{rooms}, transport.FrontDoor{})}, broker, tokens, log))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop() // ends event streams too
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := errors.Join(rooms.Close(), eng.Close()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return ln.Addr().String()
}

// apiRooms is cmd/mcu's wiring of the API to the rooms and the
// transport's plain-RTP legs.
type apiRooms struct {
	*room.Manager
	legs *transport.Server
}

func (a apiRooms) CreateRTPLeg(id media.RoomID, remote, codec, name string) (media.ParticipantID, string, error) {
	pid, local, err := a.legs.CreateRTPLeg(id, remote, codec, name)
	if errors.Is(err, transport.ErrBadLeg) {
		return "", "", fmt.Errorf("%w: %w", room.ErrBadOptions, err)
	}
	return pid, local, err // room errors pass through the transport as they are
}

// joiner lets the transport join legs to rooms.
type joiner struct{ m *room.Manager }

func (j joiner) Join(id media.RoomID, req transport.JoinRequest) (media.ParticipantID, error) {
	return j.m.Join(id, room.JoinParams{
		Name: req.Name, Peer: req.Peer, MustExist: req.MustExist, Kind: req.Kind,
		RecvAudioCodec: req.RecvAudioCodec, SendAudioCodec: req.SendAudioCodec, SendAudioClockRate: req.SendAudioClockRate,
		RecvVideoCodec: req.RecvVideoCodec, SendVideoCodec: req.SendVideoCodec,
	})
}

func (j joiner) Leave(id media.RoomID, pid media.ParticipantID) error { return j.m.Leave(id, pid) }

func (j joiner) VideoCodecs(id media.RoomID) []string { return j.m.VideoCodecs(id) }

func (j joiner) Fail(id media.RoomID, pid media.ParticipantID, cause error) error {
	return j.m.Fail(id, pid, cause)
}

func (j joiner) Identity(id media.RoomID, pid media.ParticipantID) (string, error) {
	return j.m.Identity(id, pid)
}

// mcuctl runs one command line against addr.
func mcuctl(ctx context.Context, addr string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(ctx, args, &out, &errb, func(k string) string {
		if k == "MCUCTL_ADDR" {
			return addr
		}
		return env[k]
	})
	return code, out.String(), errb.String()
}

// tokenAuthority mints for the session's server and verifies for the
// tests; its clock stands still, so the tokens in the transcript do too.
func tokenAuthority(t *testing.T) *auth.Authority {
	t.Helper()
	a, err := auth.New([]byte("the session's secret, 32 bytes or more"), func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var (
	participantID = regexp.MustCompile(`\b[0-9a-f]{16}\b`)
	legLocal      = regexp.MustCompile(`(send RTP to [^\s:]+):\d+`)
)

// normaliser replaces what changes from run to run: participant IDs (by
// order of appearance, as <ID1..........>) and the legs' local ports.
type normaliser struct{ ids map[string]string }

func (n *normaliser) apply(s string) string {
	s = participantID.ReplaceAllStringFunc(s, func(id string) string {
		if _, ok := n.ids[id]; !ok {
			// As wide as an ID, so tables stay aligned.
			tag := fmt.Sprintf("ID%d", len(n.ids)+1)
			n.ids[id] = "<" + tag + strings.Repeat(".", len(id)-len(tag)-2) + ">"
		}
		return n.ids[id]
	})
	return legLocal.ReplaceAllString(s, "$1:<PORT>")
}

// TestSession runs a scripted session against a real server and compares
// the transcript with testdata/session.golden (go test -update rewrites
// it).
func TestSession(t *testing.T) {
	addr := startServer(t, tokenAuthority(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	script := []string{
		"rooms create demo --canvas 640x360@15 --codecs VP8",
		"rooms list",
		"rooms get demo",
		"rooms update demo --max-speakers 2",
		"layout set demo speaker",
		"layout get demo",
		"layout set demo custom --region 0,0,0.75,1,,,presentation --region 0.75,0,0.25,0.25,,,next",
		"layout get demo",
		"layout set demo presentation",
		"layout show-share demo",
		"layout set demo custom --region 0,0,1,1,0,cover,speaker --region 0.6,0.6,0.3,0.3,1,contain,next",
		"layout get demo",
		"rooms get demo",
		"legs create demo 127.0.0.1:9 PCMU --name desk",
		"participants list demo",
		"participants mute demo {leg}",
		"participants gain demo {leg} -6",
		"participants rename demo {leg} Reception",
		"participants pin demo {leg}",
		"participants list demo",
		"-json participants list demo",
		"layout set demo grid --viewer {leg}",
		"layout get demo --viewer {leg}",
		"layout clear demo --viewer {leg}",
		"rooms list",
		"rooms get nope",
		"layout set demo custom --region 0.5,0,0.8,1",
		"rooms create demo",
		"participants mute demo nobody",
		"legs create demo nowhere PCMU",
		"legs delete demo {leg}",
		"participants list demo",
		"rooms delete demo",
		"rooms list",
		"rooms create tiers --ladder 1280x720@30:1.5M,640x360@30:600k,320x180@15:150k",
		"rooms get tiers",
		"rooms create bad --canvas 640x360@30 --ladder 1280x720@30:1500k",
		"rooms create bad --ladder 1280x720@30:1500k,640x360@30:600k,320x180@7:150k",
		"rooms create bad --ladder 1280x720:1500k",
		"rooms delete tiers",
		"token create --room demo --identity alice --name Alice --ttl 2h --grants publish,admin",
		"-json token create --room * --identity bob",
		"token create --room demo --identity alice --ttl 0",
		"token create --room a/b --identity alice",
	}
	var transcript strings.Builder
	norm := &normaliser{ids: map[string]string{}}
	var leg string
	for _, line := range script {
		line = strings.ReplaceAll(line, "{leg}", leg)
		code, stdout, stderr := mcuctl(ctx, addr, nil, strings.Fields(line)...)
		if strings.HasPrefix(line, "legs create") && code == 0 {
			m := participantID.FindString(stdout)
			if m == "" {
				t.Fatalf("%s: no leg ID in %q", line, stdout)
			}
			leg = m
		}
		fmt.Fprintf(&transcript, "$ mcuctl %s\n", norm.apply(line))
		transcript.WriteString(norm.apply(stdout))
		for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
			if l != "" {
				fmt.Fprintf(&transcript, "stderr: %s\n", norm.apply(l))
			}
		}
		if code != 0 {
			fmt.Fprintf(&transcript, "[exit %d]\n", code)
		}
	}
	got := transcript.String()
	golden := filepath.Join("testdata", "session.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("transcript differs from %s (go test -update rewrites it):\n%s", golden, diff(string(want), got))
	}
}

// diff shows the first lines where want and got part.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q\n\nfull transcript:\n%s", i+1, wl, gl, got)
		}
	}
	return ""
}

// syncBuffer is an output written by one goroutine and read by another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEvents: "events <room>" prints one line per event of that room,
// "-json events" every room's events as JSON, until cancelled (exit 0).
func TestEvents(t *testing.T) {
	addr := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if code, _, stderr := mcuctl(ctx, addr, nil, "rooms", "create", "ev"); code != 0 {
		t.Fatal(stderr)
	}
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	type stream struct {
		out, errOut syncBuffer
		code        chan int
	}
	start := func(args ...string) *stream {
		s := &stream{code: make(chan int, 1)}
		go func() {
			s.code <- run(streamCtx, args, &s.out, &s.errOut, func(k string) string {
				if k == "MCUCTL_ADDR" {
					return addr
				}
				return ""
			})
		}()
		return s
	}
	text := start("events", "ev")
	all := start("-json", "events")
	// Wait until both streams are subscribed: each sees a layout change.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(text.out.String(), "layout-changed") || !strings.Contains(all.out.String(), "EVENT_TYPE_LAYOUT_CHANGED") {
		if time.Now().After(deadline) {
			t.Fatalf("no layout events: %q / %q (%q %q)", text.out.String(), all.out.String(), text.errOut.String(), all.errOut.String())
		}
		if code, _, stderr := mcuctl(ctx, addr, nil, "layout", "set", "ev", "grid"); code != 0 {
			t.Fatal(stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	code, stdout, stderr := mcuctl(ctx, addr, nil, "legs", "create", "ev", "127.0.0.1:9", "PCMA")
	if code != 0 {
		t.Fatal(stderr)
	}
	leg := participantID.FindString(stdout)
	if code, _, stderr := mcuctl(ctx, addr, nil, "legs", "delete", "ev", leg); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := mcuctl(ctx, addr, nil, "rooms", "delete", "ev"); code != 0 {
		t.Fatal(stderr)
	}
	line := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d\d\d ev (\S+) (\S+)`)
	wantText := []string{leg + " participant-joined", leg + " participant-left", "- room-deleted"}
	wantJSON := []string{`"type":"EVENT_TYPE_PARTICIPANT_JOINED","time":`, `"roomId":"ev","participantId":"` + leg + `"`, `"type":"EVENT_TYPE_ROOM_DELETED"`}
	for {
		var seen []string
		for _, m := range line.FindAllStringSubmatch(text.out.String(), -1) {
			seen = append(seen, m[1]+" "+m[2])
		}
		missing := false
		for _, w := range wantText {
			missing = missing || !strings.Contains(strings.Join(seen, "\n"), w)
		}
		for _, w := range wantJSON {
			missing = missing || !strings.Contains(all.out.String(), w)
		}
		if !missing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events:\n%s\nJSON:\n%s\nwant %q and %q", text.out.String(), all.out.String(), wantText, wantJSON)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, l := range strings.Split(strings.TrimSpace(text.out.String()), "\n") {
		if !line.MatchString(l) {
			t.Errorf("event line %q is not HH:MM:SS.mmm room participant type", l)
		}
	}
	t.Logf("events ev:\n%s", text.out.String())
	stopStreams() // Ctrl-C
	for _, s := range []*stream{text, all} {
		if code := <-s.code; code != 0 || s.errOut.String() != "" {
			t.Errorf("events ended with %d: %s", code, s.errOut.String())
		}
	}
}

// TestToken: with a token configured on the server, calls carry it from
// MCUCTL_TOKEN or -token; without it they fail with UNAUTHENTICATED.
func TestToken(t *testing.T) {
	addr := startServer(t, nil, api.TokenInterceptors("s3cret")...)
	ctx := context.Background()
	code, _, stderr := mcuctl(ctx, addr, nil, "rooms", "list")
	if code != 1 || stderr != "mcuctl: missing or wrong bearer token (UNAUTHENTICATED)\n" {
		t.Fatalf("no token: exit %d, %q", code, stderr)
	}
	env := map[string]string{"MCUCTL_TOKEN": "s3cret"}
	if code, stdout, stderr := mcuctl(ctx, addr, env, "rooms", "list"); code != 0 || stdout != "no rooms\n" {
		t.Fatalf("token from env: exit %d, %q %q", code, stdout, stderr)
	}
	if code, _, _ := mcuctl(ctx, addr, env, "-token", "wrong", "rooms", "list"); code != 1 {
		t.Fatalf("wrong -token over a good env: exit %d", code)
	}
	if code, _, stderr := mcuctl(ctx, addr, nil, "rooms", "list", "-token", "s3cret"); code != 0 {
		t.Fatalf("-token: exit %d, %q", code, stderr)
	}
}

// TestTokenCreate: the printed token verifies with the server's secret
// and carries the claims asked for; a server without a secret refuses,
// naming the flag it lacks.
func TestTokenCreate(t *testing.T) {
	ctx := context.Background()
	verifier := tokenAuthority(t)
	code, stdout, stderr := mcuctl(ctx, startServer(t, verifier), nil, "token", "create", "--room", "demo", "--identity", "alice", "--name", "Alice", "--grants", "subscribe,hidden", "--ttl", "10m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	c, err := verifier.Verify(strings.TrimSuffix(stdout, "\n"))
	if err != nil {
		t.Fatalf("%q: %v", stdout, err)
	}
	want := auth.Claims{Identity: "alice", Room: "demo", Name: "Alice", Grants: auth.Grants{Subscribe: true, Hidden: true}}
	if exp := c.ExpiresAt; !exp.Equal(time.Date(2026, 1, 2, 3, 14, 5, 0, time.UTC)) {
		t.Errorf("expires %v", exp)
	}
	if c.ExpiresAt = (time.Time{}); c != want {
		t.Errorf("claims %+v, want %+v", c, want)
	}

	code, _, stderr = mcuctl(ctx, startServer(t, nil), nil, "token", "create", "--room", "demo", "--identity", "alice")
	if code != 1 || stderr != "mcuctl: auth is off: start mcu with -auth-secret (FAILED_PRECONDITION)\n" {
		t.Fatalf("auth off: exit %d, %q", code, stderr)
	}
}

// TestUnreachable: no server is an UNAVAILABLE error, exit 1.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, _, stderr := mcuctl(context.Background(), addr, nil, "rooms", "list")
	if code != 1 || !strings.HasPrefix(stderr, "mcuctl: ") || !strings.HasSuffix(stderr, "(UNAVAILABLE)\n") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
}

// TestTLS: -ca verifies the server, -cert/-key authenticate the client to
// a server that requires it (mutual TLS).
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	caKey, caCert := newCert(t, nil, nil, "test CA")
	serverKey, serverCert := newCert(t, caKey, caCert, "server")
	clientKey, clientCert := newCert(t, caKey, caCert, "client")
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", caCert.Raw)
	writePEM(t, filepath.Join(dir, "client.pem"), "CERTIFICATE", clientCert.Raw)
	der, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "client.key"), "PRIVATE KEY", der)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	creds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{serverCert.Raw}, PrivateKey: serverKey}},
		ClientCAs:    pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	})
	addr := startServer(t, nil, grpc.Creds(creds))
	ctx := context.Background()
	ca, cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")

	if code, stdout, stderr := mcuctl(ctx, addr, nil, "-ca", ca, "-cert", cert, "-key", key, "rooms", "list"); code != 0 || stdout != "no rooms\n" {
		t.Fatalf("mutual TLS: exit %d, %q %q", code, stdout, stderr)
	}
	for name, args := range map[string][]string{
		"plaintext":           {"rooms", "list"},
		"system roots":        {"-tls", "rooms", "list"},
		"no client cert":      {"-ca", ca, "rooms", "list"},
		"missing CA file":     {"-ca", filepath.Join(dir, "nope.pem"), "rooms", "list"},
		"key is not a cert":   {"-ca", ca, "-cert", key, "-key", key, "rooms", "list"},
		"CA file has no cert": {"-ca", key, "rooms", "list"},
	} {
		code, _, stderr := mcuctl(ctx, addr, nil, args...)
		if code != 1 || !strings.HasPrefix(stderr, "mcuctl: ") {
			t.Errorf("%s: exit %d, %q", name, code, stderr)
		}
		t.Logf("%s: %s", name, strings.TrimSpace(stderr))
	}
}

// newCert makes an ECDSA key and a certificate for it, signed by parent
// (self-signed, a CA, when parent is nil), valid for 127.0.0.1.
func newCert(t *testing.T, parentKey *ecdsa.PrivateKey, parent *x509.Certificate, cn string) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
