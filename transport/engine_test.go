package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/testkit/loopoffer"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func answerFor(t *testing.T, cfg Config, withVideo bool) (string, *webrtc.PeerConnection, *Peer) {
	t.Helper()
	cfg.Interfaces = []string{"lo"}
	cfg.IncludeLoopback = true
	eng, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	client, offer := loopoffer.New(t, withVideo)
	info, err := parseOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	peer, answer, err := eng.negotiate(ctx, offer, info, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	return answer, client, peer
}

// connect applies the answer to the client and waits for it to connect.
func connect(client *webrtc.PeerConnection, answer string) error {
	connected := make(chan struct{})
	var once sync.Once
	client.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	if err := client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return err
	}
	select {
	case <-connected:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("not connected after 10 s")
	}
}

var candidateRE = regexp.MustCompile(`(?m)^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host`)

func TestPublicIPReplacesHostCandidates(t *testing.T) {
	answer, _, _ := answerFor(t, Config{PublicIPs: []string{"203.0.113.7"}}, false)
	cands := candidateRE.FindAllStringSubmatch(answer, -1)
	if len(cands) == 0 {
		t.Fatalf("no host candidates in answer:\n%s", answer)
	}
	for _, c := range cands {
		if c[1] != "203.0.113.7" {
			t.Fatalf("host candidate %s, want the public IP", c[1])
		}
	}
}

func TestSingleUDPPort(t *testing.T) {
	// Find a free UDP port, release it, and serve every peer from it.
	l, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	eng, err := NewEngine(Config{UDPPort: port, Interfaces: []string{"lo"}, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for i := range 2 {
		client, offer := loopoffer.New(t, false)
		info, _ := parseOffer(offer)
		peer, answer, err := eng.negotiate(context.Background(), offer, info, "")
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		cands := candidateRE.FindAllStringSubmatch(answer, -1)
		if len(cands) == 0 {
			t.Fatalf("peer %d: no candidates", i)
		}
		for _, c := range cands {
			if c[2] != fmt.Sprint(port) {
				t.Fatalf("peer %d: candidate port %s, want %d", i, c[2], port)
			}
		}
		// And the connection really comes up through the shared socket.
		if err := connect(client, answer); err != nil {
			t.Fatalf("peer %d through port %d: %v", i, port, err)
		}
		_ = client.Close()
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{PublicIPs: []string{"not-an-ip"}},
		{UDPPortMin: 5000, UDPPortMax: 4000},
		{UDPPort: 70000},
		{LegAllow: []netip.Prefix{{}}},
		{MaxLegsPerRoom: -1},
	} {
		if eng, err := NewEngine(cfg); err == nil {
			eng.Close()
			t.Errorf("NewEngine(%+v) accepted", cfg)
		}
	}
}

func TestUDPPortRange(t *testing.T) {
	answer, _, _ := answerFor(t, Config{UDPPortMin: 42100, UDPPortMax: 42110}, false)
	cands := candidateRE.FindAllStringSubmatch(answer, -1)
	if len(cands) == 0 {
		t.Fatalf("no candidates:\n%s", answer)
	}
	for _, c := range cands {
		if p, _ := strconv.Atoi(c[2]); p < 42100 || p > 42110 {
			t.Fatalf("candidate port %d outside 42100-42110", p)
		}
	}
}
