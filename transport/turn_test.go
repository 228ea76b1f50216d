package transport

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcu-project/mcu/auth"
	"github.com/pion/turn/v5"
)

var testTURNSecret = []byte("turn-test-secret")

// startTURN runs the embedded TURN server on loopback for a loopback MCU.
func startTURN(t *testing.T, allowLoopback bool) *TURNServer {
	t.Helper()
	s, err := NewTURNServer(TURNConfig{
		ListenIP: netip.MustParseAddr("127.0.0.1"), PublicIP: netip.MustParseAddr("127.0.0.1"),
		RelayPortMin: DefaultTURNRelayPortMin, RelayPortMax: DefaultTURNRelayPortMax,
		Secret: testTURNSecret, AllowLoopback: allowLoopback, Logger: slog.New(slog.DiscardHandler),
	}, Config{Interfaces: []string{"lo"}, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// turnAddr is the server's host:port for transport ("udp" or "tcp"), read
// from what it advertises.
func turnAddr(t *testing.T, s *TURNServer, transport string) string {
	t.Helper()
	for _, u := range s.ICEServer().URLs {
		if hostport, ok := bytes.CutPrefix([]byte(u), []byte("turn:")); ok && bytes.HasSuffix(hostport, []byte("?transport="+transport)) {
			return string(bytes.TrimSuffix(hostport, []byte("?transport="+transport)))
		}
	}
	t.Fatalf("no %s URL in %v", transport, s.ICEServer().URLs)
	return ""
}

// turnClient is a pion/turn client of s over transport, with the given
// credentials.
func turnClient(t *testing.T, s *TURNServer, transport, user, pass string) *turn.Client {
	t.Helper()
	addr := turnAddr(t, s, transport)
	var conn net.PacketConn
	if transport == "tcp" {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = turn.NewSTUNConn(c)
	} else {
		var err error
		if conn, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	c, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Username: user, Password: pass,
		Conn: conn, RTO: 50 * time.Millisecond, LoggerFactory: pionLoggers{slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		_ = conn.Close()
	})
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTURNCredentials: the server allocates for TURN REST credentials
// made with its secret, over UDP and TCP, and refuses a wrong password,
// an expired username and a malformed one.
func TestTURNCredentials(t *testing.T) {
	s := startTURN(t, true)
	now := time.Now()
	good := auth.NewTURNCredentials(testTURNSecret, "alice", now, time.Hour)
	expired := auth.NewTURNCredentials(testTURNSecret, "alice", now, -time.Minute)
	cases := []struct {
		name, user, pass string
		ok               bool
	}{
		{"good", good.Username, good.Password, true},
		{"wrong password", good.Username, auth.NewTURNCredentials([]byte("other"), "alice", now, time.Hour).Password, false},
		{"expired", expired.Username, expired.Password, false},
		{"malformed username", "alice", auth.TURNPassword(testTURNSecret, "alice"), false},
		{"no expiry", ":alice", auth.TURNPassword(testTURNSecret, ":alice"), false},
	}
	for _, transport := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(transport+"/"+tc.name, func(t *testing.T) {
				relay, err := turnClient(t, s, transport, tc.user, tc.pass).Allocate()
				if tc.ok != (err == nil) {
					t.Fatalf("allocate: %v, want success %v", err, tc.ok)
				}
				if err != nil {
					return
				}
				defer relay.Close()
				if got := relay.LocalAddr().(*net.UDPAddr); !got.IP.Equal(net.IPv4(127, 0, 0, 1)) || got.Port < DefaultTURNRelayPortMin || got.Port > DefaultTURNRelayPortMax {
					t.Errorf("relayed address %v, want 127.0.0.1 in the relay range", got)
				}
			})
		}
	}
}

// TestTURNRelaysToTheMCUOnly: a relay carries packets both ways between a
// client and one of the MCU's addresses, and refuses a permission for
// another host, packets to the TURN server's own port and relay ports,
// and loopback peers unless allowed.
func TestTURNRelaysToTheMCUOnly(t *testing.T) {
	s := startTURN(t, true)
	cred := auth.NewTURNCredentials(testTURNSecret, "bob", time.Now(), time.Hour)
	client := turnClient(t, s, "udp", cred.Username, cred.Password)
	relay, err := client.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()

	// The MCU's media socket on loopback: the relay reaches it, and its
	// answer comes back through the relay.
	mcu, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mcu.Close()
	if _, err := relay.WriteTo([]byte("ping"), mcu.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = mcu.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, from, err := mcu.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" || from.String() != relay.LocalAddr().String() {
		t.Fatalf("MCU got %q from %v (%v), want ping from the relay %v", buf[:n], from, err, relay.LocalAddr())
	}
	if _, err := mcu.WriteTo([]byte("pong"), from); err != nil {
		t.Fatal(err)
	}
	_ = relay.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, _, err = relay.ReadFrom(buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("client got %q (%v), want pong", buf[:n], err)
	}

	// Another host: the permission is refused (nothing is sent to it).
	if err := client.CreatePermission(&net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5000}); err == nil {
		t.Error("permission for 192.0.2.1, not an MCU address, was granted")
	}
	// The TURN server's own port and a relay port in use: the packets are
	// dropped at the relay.
	refused := s.Refused()
	turnPort := netip.MustParseAddrPort(turnAddr(t, s, "udp"))
	for _, self := range []net.Addr{net.UDPAddrFromAddrPort(turnPort), relay.LocalAddr()} {
		if _, err := relay.WriteTo([]byte("loop"), self); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(3 * time.Second); s.Refused() < refused+2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d packets to the server's own sockets refused, want 2", s.Refused()-refused)
		}
	}
	if s.Allocations() != 1 {
		t.Errorf("%d allocations, want 1", s.Allocations())
	}

	// Without -turn-allow-loopback, the MCU on loopback is out of reach.
	strict := startTURN(t, false)
	strictClient := turnClient(t, strict, "udp", cred.Username, cred.Password)
	other, err := strictClient.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := strictClient.CreatePermission(mcu.LocalAddr()); err == nil || strict.Refused() == 0 {
		t.Errorf("a permission for the MCU on loopback was granted (%v) without AllowLoopback", err)
	}
}

// TestTURNPeerPolicy: the relay's destinations, address by address.
func TestTURNPeerPolicy(t *testing.T) {
	lo, own, other := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("198.51.100.8")
	peers := func(allowLoopback bool, listen netip.Addr, portMin, portMax uint16) *turnPeers {
		p := &turnPeers{ips: []netip.Addr{lo, own}, allowLoopback: allowLoopback, listen: listen, turnPort: 3478,
			relayMin: 49160, relayed: make([]atomic.Bool, 240), portMin: portMin, portMax: portMax}
		p.setRelayed(&net.UDPAddr{Port: 49200}, true)
		return p
	}
	open, strict := peers(true, netip.IPv4Unspecified(), 0, 0), peers(false, netip.IPv4Unspecified(), 0, 0)
	muxed, onLo := peers(true, netip.IPv4Unspecified(), 7882, 7882), peers(true, lo, 0, 0)
	cases := []struct {
		name string
		p    *turnPeers
		to   netip.AddrPort
		ok   bool
	}{
		{"own address", open, netip.AddrPortFrom(own, 50000), true},
		{"own address, v4-mapped", open, netip.AddrPortFrom(netip.AddrFrom16(own.As16()), 50000), true},
		{"another host", open, netip.AddrPortFrom(other, 50000), false},
		{"loopback allowed", open, netip.AddrPortFrom(lo, 50000), true},
		{"loopback not allowed", strict, netip.AddrPortFrom(lo, 50000), false},
		{"the TURN port", open, netip.AddrPortFrom(own, 3478), false},
		{"a relay port in use", open, netip.AddrPortFrom(own, 49200), false},
		{"a free relay port", open, netip.AddrPortFrom(own, 49201), true},
		{"the media port", muxed, netip.AddrPortFrom(own, 7882), true},
		{"not the media port", muxed, netip.AddrPortFrom(own, 7883), false},
		{"the TURN port on another IP than it listens on", onLo, netip.AddrPortFrom(own, 3478), true},
		{"the TURN port on its listen IP", onLo, netip.AddrPortFrom(lo, 3478), false},
	}
	for _, tc := range cases {
		if got := tc.p.allow(tc.to); got != tc.ok {
			t.Errorf("%s: %v allowed %v, want %v", tc.name, tc.to, got, tc.ok)
		}
	}
}

// TestBadTURNConfig: what the server cannot run with is refused.
func TestBadTURNConfig(t *testing.T) {
	good := TURNConfig{ListenIP: netip.MustParseAddr("127.0.0.1"), PublicIP: netip.MustParseAddr("127.0.0.1"),
		RelayPortMin: 49160, RelayPortMax: 49399, Secret: testTURNSecret}
	for name, mutate := range map[string]func(*TURNConfig){
		"no secret":         func(c *TURNConfig) { c.Secret = nil },
		"no public IP":      func(c *TURNConfig) { c.PublicIP = netip.Addr{} },
		"mixed families":    func(c *TURNConfig) { c.PublicIP = netip.MustParseAddr("::1") },
		"port out of range": func(c *TURNConfig) { c.Port = 70000 },
		"no relay ports":    func(c *TURNConfig) { c.RelayPortMin, c.RelayPortMax = 0, 0 },
		"inverted range":    func(c *TURNConfig) { c.RelayPortMin, c.RelayPortMax = 49399, 49160 },
	} {
		cfg := good
		mutate(&cfg)
		if s, err := NewTURNServer(cfg, Config{}); !errors.Is(err, ErrBadConfig) {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("%s: %v, want ErrBadConfig", name, err)
		}
	}
}
