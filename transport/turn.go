package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/auth"
	"github.com/pion/turn/v5"
)

// TURNConfig configures the embedded TURN server, which relays the media
// of clients that cannot reach the MCU directly: behind a symmetric NAT,
// or let out only to TCP port 3478.
type TURNConfig struct {
	// ListenIP is where it listens, on UDP and TCP, and where its relay
	// sockets are bound (0.0.0.0: every IPv4 address).
	ListenIP netip.Addr
	// Port is its UDP and TCP port (3478 by convention; 0: any free one,
	// for tests: ICEServer names the ports it got).
	Port int
	// PublicIP is the address the relay ports are reached at: relayed
	// candidates carry it, and clients are told to reach the server there.
	PublicIP netip.Addr
	// RelayPortMin and RelayPortMax bound the relay ports (UDP), one per
	// allocation: a browser takes one for each TURN URL it is given.
	RelayPortMin, RelayPortMax uint16
	// Secret checks TURN REST credentials (coturn's use-auth-secret), the
	// ones FrontDoor.TURNSecret hands out with each join.
	Secret []byte
	// AllowLoopback lets the relay send to loopback addresses (tests,
	// everything on one host), as coturn's allow-loopback-peers does.
	AllowLoopback bool
	Logger        *slog.Logger
}

// TURN defaults.
const (
	DefaultTURNPort         = 3478
	DefaultTURNRelayPortMin = 49160
	DefaultTURNRelayPortMax = 49399
	turnRealm               = "mcu"
	// turnIdleTimeout drops a TCP connection to the TURN server that
	// sends nothing this long: a WebRTC client through it checks its
	// path every few seconds, so only an abandoned or hostile one idles.
	turnIdleTimeout = 60 * time.Second
)

var (
	errPeerRefused = errors.New("turn: peer not allowed: the relay only reaches this MCU's media")
	errNoTCPRelay  = errors.New("turn: TCP relaying (RFC 6062) is off: WebRTC relays UDP")
)

// TURNServer is the embedded TURN server. It relays to this MCU alone:
// a client may create permissions only for the MCU's own addresses (its
// interfaces' and public IPs; loopback only with AllowLoopback), packets
// go only to the MCU's media ports (the -udp-port or -udp-port-range when
// set) and never to the TURN server's own port or relay ports, and TCP
// relaying is refused. Anyone holding credentials could otherwise use it
// to reach the host's other services or to send anywhere from its
// address.
type TURNServer struct {
	srv     *turn.Server
	udp     net.Addr
	tcp     net.Addr
	public  netip.Addr
	peers   *turnPeers
	secret  []byte
	log     *slog.Logger
	refused atomic.Uint64

	// wg counts pion's goroutines: the two listener loops, one per TCP
	// connection and one per allocation. Close waits for them.
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[*turnConn]struct{}
	closing   bool
	closeOnce sync.Once
	closeErr  error
}

// NewTURNServer starts the TURN server for the MCU whose transport is
// configured by media: that is where it lets the relay send.
func NewTURNServer(cfg TURNConfig, media Config) (*TURNServer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch {
	case len(cfg.Secret) == 0:
		return nil, fmt.Errorf("%w: TURN needs a secret", ErrBadConfig)
	case !cfg.ListenIP.IsValid() || !cfg.PublicIP.IsValid():
		return nil, fmt.Errorf("%w: TURN needs a listen IP and a public IP", ErrBadConfig)
	case cfg.ListenIP.Is4() != cfg.PublicIP.Is4():
		return nil, fmt.Errorf("%w: TURN listen IP %s and public IP %s are of different families", ErrBadConfig, cfg.ListenIP, cfg.PublicIP)
	case cfg.Port < 0 || cfg.Port > 65535:
		return nil, fmt.Errorf("%w: TURN port %d", ErrBadConfig, cfg.Port)
	case cfg.RelayPortMin == 0 || cfg.RelayPortMin > cfg.RelayPortMax:
		return nil, fmt.Errorf("%w: TURN relay ports %d-%d", ErrBadConfig, cfg.RelayPortMin, cfg.RelayPortMax)
	}
	peers, err := newTURNPeers(cfg, media)
	if err != nil {
		return nil, err
	}
	udpNet, tcpNet := "udp4", "tcp4"
	if cfg.ListenIP.Is6() {
		udpNet, tcpNet = "udp6", "tcp6"
	}
	s := &TURNServer{public: cfg.PublicIP, peers: peers, secret: cfg.Secret,
		log: cfg.Logger.With("component", "turn"), conns: map[*turnConn]struct{}{}}
	listen := netip.AddrPortFrom(cfg.ListenIP, uint16(cfg.Port)).String()
	pc, err := net.ListenPacket(udpNet, listen)
	if err != nil {
		return nil, fmt.Errorf("TURN: %w", err)
	}
	ln, err := net.Listen(tcpNet, listen)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("TURN: %w", err)
	}
	s.udp, s.tcp = pc.LocalAddr(), ln.Addr()
	peers.turnPort = uint16(netPort(s.udp))
	// Each listener has its own allocation manager in pion, hence its own
	// generator; both draw from the same port range.
	relay := func() turn.RelayAddressGenerator {
		return &turnRelayPorts{RelayAddressGeneratorPortRange: turn.RelayAddressGeneratorPortRange{
			RelayAddress: cfg.PublicIP.AsSlice(), Address: cfg.ListenIP.String(),
			MinPort: cfg.RelayPortMin, MaxPort: cfg.RelayPortMax,
		}, s: s}
	}
	s.wg.Add(2)
	s.srv, err = turn.NewServer(turn.ServerConfig{
		Realm:             turnRealm,
		AuthHandler:       s.authenticate,
		LoggerFactory:     pionLoggers{s.log},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: &turnLoopConn{PacketConn: pc, s: s}, RelayAddressGenerator: relay(), PermissionHandler: s.permit}},
		ListenerConfigs:   []turn.ListenerConfig{{Listener: &turnListener{Listener: ln, s: s}, RelayAddressGenerator: relay(), PermissionHandler: s.permit}},
	})
	if err != nil {
		_, _ = pc.Close(), ln.Close()
		return nil, fmt.Errorf("%w: TURN: %w", ErrBadConfig, err)
	}
	return s, nil
}

// ICEServer is how clients reach the server, over UDP and over TCP; the
// front door adds each client's credentials.
func (s *TURNServer) ICEServer() ICEServer {
	url := func(a net.Addr, transport string) string {
		return "turn:" + net.JoinHostPort(s.public.String(), strconv.Itoa(netPort(a))) + "?transport=" + transport
	}
	return ICEServer{URLs: []string{url(s.udp, "udp"), url(s.tcp, "tcp")}}
}

// Allocations is how many relays are live.
func (s *TURNServer) Allocations() int { return s.srv.AllocationCount() }

// Refused counts what the peer policy refused: permissions and packets.
func (s *TURNServer) Refused() uint64 { return s.refused.Load() }

// Close stops the server, ends every allocation and connection, and
// waits for the goroutines that served them.
func (s *TURNServer) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		s.mu.Lock()
		s.closing = true
		for c := range s.conns {
			_ = c.Conn.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s.closeErr
}

// authenticate answers pion with the key of a TURN REST username that is
// well formed and unexpired; pion then checks the request's message
// integrity with it, which only the password can have made.
func (s *TURNServer) authenticate(ra *turn.RequestAttributes) (string, []byte, bool) {
	if _, err := auth.CheckTURNUsername(ra.Username, time.Now()); err != nil {
		s.log.Debug("TURN credentials refused", "client", ra.SrcAddr.String(), "err", err)
		return "", nil, false
	}
	return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, auth.TURNPassword(s.secret, ra.Username)), true
}

// permit is pion's permission check: the peer must be one of the MCU's
// addresses.
func (s *TURNServer) permit(client net.Addr, peer net.IP) bool {
	ip, _ := netip.AddrFromSlice(peer)
	if s.peers.allowIP(ip) {
		return true
	}
	s.refused.Add(1)
	s.log.Debug("TURN permission refused", "client", client.String(), "peer", ip.String())
	return false
}

// turnPeers is where the relay may send.
type turnPeers struct {
	ips              []netip.Addr // the MCU's own addresses
	portMin, portMax uint16       // its media ports; 0, 0: any
	allowLoopback    bool
	// The server's own sockets, on its listen IP (unspecified: on every
	// one): the TURN port, and the relay ports in use.
	listen   netip.Addr
	turnPort uint16
	relayMin uint16
	relayed  []atomic.Bool // by port - relayMin
}

// newTURNPeers collects the MCU's addresses as ICE gathers them: the up
// interfaces media names (loopback ones with IncludeLoopback), and its
// public IPs.
func newTURNPeers(cfg TURNConfig, media Config) (*turnPeers, error) {
	p := &turnPeers{allowLoopback: cfg.AllowLoopback, listen: cfg.ListenIP, relayMin: cfg.RelayPortMin,
		relayed: make([]atomic.Bool, int(cfg.RelayPortMax-cfg.RelayPortMin)+1)}
	switch {
	case media.UDPPort != 0:
		p.portMin, p.portMax = uint16(media.UDPPort), uint16(media.UDPPort)
	case media.UDPPortMin != 0 || media.UDPPortMax != 0:
		p.portMin, p.portMax = media.UDPPortMin, media.UDPPortMax
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("TURN: the MCU's addresses: %w", err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || (ifc.Flags&net.FlagLoopback != 0 && !media.IncludeLoopback) ||
			(len(media.Interfaces) > 0 && !slices.Contains(media.Interfaces, ifc.Name)) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, fmt.Errorf("TURN: addresses of %s: %w", ifc.Name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					p.ips = append(p.ips, ip.Unmap())
				}
			}
		}
	}
	for _, s := range media.PublicIPs {
		if ip, err := netip.ParseAddr(s); err == nil {
			p.ips = append(p.ips, ip.Unmap())
		}
	}
	return p, nil
}

func (p *turnPeers) allowIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	return (p.allowLoopback || !ip.IsLoopback()) && slices.Contains(p.ips, ip)
}

func (p *turnPeers) allow(ap netip.AddrPort) bool {
	ip, port := ap.Addr().Unmap(), ap.Port()
	if !p.allowIP(ip) || p.isSelf(ip, port) {
		return false
	}
	return p.portMax == 0 || port >= p.portMin && port <= p.portMax
}

// isSelf reports whether ip:port is one of the TURN server's own sockets:
// a relay to itself would let a client nest allocations or loop packets.
func (p *turnPeers) isSelf(ip netip.Addr, port uint16) bool {
	if !p.listen.IsUnspecified() && ip != p.listen {
		return false
	}
	i := int(port) - int(p.relayMin)
	return port == p.turnPort || i >= 0 && i < len(p.relayed) && p.relayed[i].Load()
}

// setRelayed marks a relay port in use or free.
func (p *turnPeers) setRelayed(a net.Addr, on bool) {
	if i := netPort(a) - int(p.relayMin); i >= 0 && i < len(p.relayed) {
		p.relayed[i].Store(on)
	}
}

// turnRelayPorts hands pion relay sockets from the port range, each
// bound by the peer policy, and refuses TCP relaying.
type turnRelayPorts struct {
	turn.RelayAddressGeneratorPortRange
	s *TURNServer
}

// AllocatePacketConn runs on a listener loop, which wg counts, so the
// Add cannot race Close's Wait.
func (g *turnRelayPorts) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	conn, addr, err := g.RelayAddressGeneratorPortRange.AllocatePacketConn(c)
	if err != nil {
		return nil, nil, err
	}
	g.s.wg.Add(1)
	g.s.peers.setRelayed(conn.LocalAddr(), true)
	return &turnRelayConn{turnLoopConn: turnLoopConn{PacketConn: conn, s: g.s}}, addr, nil
}

func (g *turnRelayPorts) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errNoTCPRelay
}

func (g *turnRelayPorts) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errNoTCPRelay
}

// turnLoopConn is a socket pion reads in a loop that ends at the first
// error: that error marks the loop's goroutine done.
type turnLoopConn struct {
	net.PacketConn
	s    *TURNServer
	once sync.Once
}

func (c *turnLoopConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err != nil {
		c.once.Do(c.s.wg.Done)
	}
	return n, addr, err
}

// turnRelayConn is a relay socket: it sends only where the policy allows.
type turnRelayConn struct {
	turnLoopConn
	closeOnce sync.Once
}

func (c *turnRelayConn) Close() error {
	c.closeOnce.Do(func() { c.s.peers.setRelayed(c.LocalAddr(), false) })
	return c.PacketConn.Close()
}

func (c *turnRelayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || !c.s.peers.allow(ua.AddrPort()) {
		c.s.refused.Add(1)
		return 0, errPeerRefused
	}
	return c.PacketConn.WriteTo(p, addr)
}

// turnListener tracks the TCP connections pion accepts, so Close can end
// them, and keeps accepting through errors that pass (out of file
// descriptors): pion's accept loop would end at the first.
type turnListener struct {
	net.Listener
	s *TURNServer
}

func (l *turnListener) Accept() (net.Conn, error) {
	for backoff := 5 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		c, err := l.Listener.Accept()
		if err == nil {
			return l.s.track(c), nil
		}
		if errors.Is(err, net.ErrClosed) {
			l.s.wg.Done()
			return nil, err
		}
		l.s.log.Warn("TURN accept failed; retrying", "err", err, "in", backoff)
		time.Sleep(backoff)
	}
}

// track registers an accepted connection; pion serves it on a goroutine
// that closes it when done.
func (s *TURNServer) track(c net.Conn) net.Conn {
	tc := &turnConn{Conn: c, s: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wg.Add(1) // on the accept loop, which wg counts
	if s.closing {
		_ = c.Close()
	}
	s.conns[tc] = struct{}{}
	return tc
}

// turnConn is one TCP connection to the TURN server. Close is called by
// pion's goroutine for it as it ends (Close of the server closes the
// socket underneath instead).
type turnConn struct {
	net.Conn
	s    *TURNServer
	once sync.Once
}

func (c *turnConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(turnIdleTimeout))
	return c.Conn.Read(p)
}

func (c *turnConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.s.wg.Done()
	})
	return err
}

// netPort is a TCP or UDP address's port.
func netPort(a net.Addr) int {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.Port
	case *net.TCPAddr:
		return a.Port
	}
	return 0
}
