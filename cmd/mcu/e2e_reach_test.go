package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
)

// withTURN runs the embedded TURN server on loopback (any free port),
// letting it relay to the MCU there.
func withTURN(c *Config) {
	c.TURN, c.TURNPort, c.TURNListen, c.TURNPublicIP, c.TURNAllowLoopback = true, 0, "127.0.0.1", "127.0.0.1", true
}

// configICEServers are the ICE servers /config hands out whose URL
// contains keep, as pion takes them.
func configICEServers(t testing.TB, s *testServer, keep string) []webrtc.ICEServer {
	t.Helper()
	servers, err := pionclient.ConfigICEServers(context.Background(), pionclient.Options{BaseURL: s.URL}, keep)
	if err != nil {
		t.Fatal(err)
	}
	return servers
}

// freeUDPPort is a loopback UDP port nobody listens on now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestICETCP: a client that may only use TCP joins over the server's
// passive ICE-TCP candidate and hears the room, and the room hears it;
// beside it a UDP client joins as before, with per-peer ports and with
// the single UDP port.
func TestICETCP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC test")
	}
	for _, mode := range []string{"per-peer UDP ports", "single UDP port"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t, func(c *Config) {
				c.ICETCPPort = "127.0.0.1:0"
				if mode == "single UDP port" {
					c.UDPPort = freeUDPPort(t)
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			const amp = 8192
			udp, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "tcp", Name: "udp", ToneHz: 440})
			if err != nil {
				t.Fatal(err)
			}
			defer udp.Close()
			tcp, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "tcp", Name: "tcp", ToneHz: 660,
				NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}})
			if err != nil {
				t.Fatal(err)
			}
			defer tcp.Close()
			if !strings.Contains(tcp.Answer, "tcptype passive") {
				t.Fatalf("the answer offers no passive TCP candidate:\n%s", tcp.Answer)
			}
			for _, c := range []*pionclient.Client{udp, tcp} {
				if err := c.WaitConnected(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				who *pionclient.Client
				hz  float64
			}{{tcp, 440}, {udp, 660}} {
				if err := waitHearing(ctx, c.who, c.hz, amp); err != nil {
					t.Fatal(err)
				}
			}
			for c, want := range map[*pionclient.Client]webrtc.ICEProtocol{tcp: webrtc.ICEProtocolTCP, udp: webrtc.ICEProtocolUDP} {
				if pair, err := c.Path(); err != nil || pair.Local.Protocol != want {
					t.Errorf("path %v (%v), want %s", pair, err, want)
				}
			}
		})
	}
}

// TestTURNRelaysPionClients: with -turn and no -turn-secret the server
// makes a secret up, advertises its TURN server over UDP and TCP in
// /config and in the join's Link headers with credentials from it, and a
// pion client that may only use relayed candidates joins through either
// transport and hears the room.
func TestTURNRelaysPionClients(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC test")
	}
	s := startServer(t, withTURN)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	talker, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "relayed", Name: "talker", ToneHz: 440})
	if err != nil {
		t.Fatal(err)
	}
	defer talker.Close()
	for _, transport := range []string{"udp", "tcp"} {
		servers := configICEServers(t, s, "?transport="+transport)
		c, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "relayed", Name: transport, RecvOnly: true,
			ICEServers: servers, RelayOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if len(c.ICEServerLinks) != 2 || !strings.Contains(c.ICEServerLinks[0], "?transport=udp>; rel=\"ice-server\"; username=") ||
			!strings.Contains(c.ICEServerLinks[1], "?transport=tcp>; rel=\"ice-server\"; username=") {
			t.Errorf("Link headers %q, want the TURN server over UDP and TCP with credentials", c.ICEServerLinks)
		}
		if err := waitHearing(ctx, c, 440, 8192); err != nil {
			t.Fatalf("%s: %v", transport, err)
		}
		if pair, err := c.Path(); err != nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay {
			t.Errorf("%s: path %v (%v), want a relayed one", transport, pair, err)
		}
	}
	if n := s.metric(t, "mcu_turn_allocations"); n != 2 {
		t.Errorf("%v TURN allocations, want 2 (one per relayed client)", n)
	}
}

// joinRelayed opens the page with query (which makes it use relayed
// candidates only) in a room where a pion client shows red and plays a
// tone: the page must hear and see the room (joinPage) over a relay of
// the transport asked for, with the red tile where it belongs.
func joinRelayed(t *testing.T, s *testServer, query, room, transport string) {
	t.Helper()
	ctx := browser(t)
	joinRedTone(t, ctx, s, room, "")
	stats := joinPage(t, ctx, s.URL+"/"+query, room)
	t.Logf("page reports %+v", stats)
	if stats.CandidateType != "relay" || stats.RelayProtocol != transport {
		t.Errorf("the page's media flows over a %q candidate (relay protocol %q), want a relay over %s", stats.CandidateType, stats.RelayProtocol, transport)
	}
	wantRedTile(t, ctx)
}

// TestBrowserJoinsThroughTURN: Chromium that may only use relayed
// candidates (?relay=udp, then ?relay=tcp) joins through the embedded
// TURN server, with the credentials /config gave it, and sees and hears
// the room.
func TestBrowserJoinsThroughTURN(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	s := startServer(t, withTURN, func(c *Config) { c.Canvas = "640x360@15" })
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			joinRelayed(t, s, "?relay="+transport, "relay-"+transport, transport)
			if n := s.metric(t, "mcu_turn_allocations"); n < 1 {
				t.Errorf("%v TURN allocations while Chromium is relayed", n)
			}
		})
	}
}

// startCoturn runs Debian's coturn on a free loopback port with TURN REST
// credentials (use-auth-secret) and loopback peers allowed, until the
// test ends, and returns its address once it allocates for credentials
// made with secret.
func startCoturn(t *testing.T, secret string) string {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		t.Skip("Debian coturn is not installed (no turnserver): make deps-test installs it")
	}
	dir := t.TempDir()
	port := freeUDPPort(t)
	logFile := filepath.Join(dir, "turn.log")
	cmd := exec.Command(bin, "-n", "--use-auth-secret", "--static-auth-secret="+secret, "--realm=mcu",
		"--allow-loopback-peers", "--no-cli", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		fmt.Sprintf("--listening-port=%d", port), "--no-tls", "--no-dtls", "--simple-log", "--log-file="+logFile,
		"--pidfile="+filepath.Join(dir, "turn.pid"), "--userdb="+filepath.Join(dir, "turn.db"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(logFile)
			t.Logf("coturn's log:\n%s", log)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cred := auth.NewTURNCredentials([]byte(secret), "probe", time.Now(), time.Minute)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err = allocateOnce(addr, cred); err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("coturn at %s never allocated: %v", addr, err)
		}
	}
}

// allocateOnce asks a TURN server for a relay with pion's TURN client
// and gives it back.
func allocateOnce(addr string, cred auth.TURNCredentials) error {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	c, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Username: cred.Username, Password: cred.Password,
		Conn: conn, RTO: 50 * time.Millisecond})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		return err
	}
	relay, err := c.Allocate()
	if err != nil {
		return err
	}
	return relay.Close()
}

// TestBrowserJoinsThroughCoturn: with -turn-server and -turn-secret the
// MCU hands out credentials for an external coturn (use-auth-secret), and
// Chromium that may only use relayed candidates joins through it.
func TestBrowserJoinsThroughCoturn(t *testing.T) {
	if testing.Short() {
		t.Skip("starts coturn and Chromium")
	}
	const secret = "coturn-test-secret"
	addr := startCoturn(t, secret)
	s := startServer(t, func(c *Config) {
		c.Canvas = "640x360@15"
		c.TURNServers, c.TURNSecret = []string{"turn:" + addr + "?transport=udp"}, secret
	})
	joinRelayed(t, s, "?relay=udp", "coturn", "udp")
}
