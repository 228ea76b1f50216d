package transport

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/mcu-project/mcu/media"
)

// DefaultMaxLegsPerRoom is the cap on a room's live plain-RTP legs the
// server applies unless configured otherwise (-max-legs-per-room).
const DefaultMaxLegsPerRoom = 16

// specialRange is a range of addresses that are not global unicast: a
// leg sends there only when the operator lists a prefix inside it.
type specialRange struct {
	name   string
	prefix netip.Prefix
}

// specialRanges are exactly what netip.Addr.IsGlobalUnicast excludes.
// Private (RFC 1918) and unique-local addresses are global unicast: SIP
// gateways live there. Subnet broadcast addresses cannot be told from
// unicast ones without the subnet; sockets without SO_BROADCAST (ours)
// cannot send to them anyway.
var specialRanges = []specialRange{
	{"unspecified", netip.MustParsePrefix("0.0.0.0/32")},
	{"unspecified", netip.MustParsePrefix("::/128")},
	{"loopback", netip.MustParsePrefix("127.0.0.0/8")},
	{"loopback", netip.MustParsePrefix("::1/128")},
	{"link-local", netip.MustParsePrefix("169.254.0.0/16")},
	{"link-local", netip.MustParsePrefix("fe80::/10")},
	{"multicast", netip.MustParsePrefix("224.0.0.0/4")},
	{"multicast", netip.MustParsePrefix("ff00::/8")},
	{"broadcast", netip.MustParsePrefix("255.255.255.255/32")},
}

// legPolicy says where plain-RTP legs may send: the remotes a request may
// name and, with latching to any source, the sources a leg may latch to.
// A stranger who can create a leg must not turn the server into a UDP
// cannon aimed at its own loopback services, its link, or anyone outside
// the networks the operator serves.
type legPolicy struct {
	allow []netip.Prefix // masked; empty: any global unicast address
}

// refusal says why ip is not allowed ("" when it is).
func (p legPolicy) refusal(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	var special *specialRange
	for i := range specialRanges {
		if specialRanges[i].prefix.Contains(ip) {
			special = &specialRanges[i]
			break
		}
	}
	if special == nil && len(p.allow) == 0 {
		return ""
	}
	for _, a := range p.allow {
		// A broad prefix (0.0.0.0/0, say) opens the global addresses
		// in it, not the special ranges it happens to span.
		if a.Contains(ip) && (special == nil || special.prefix.Bits() <= a.Bits() && special.prefix.Contains(a.Addr())) {
			return ""
		}
	}
	if special != nil {
		return fmt.Sprintf("%s (allow it with -rtp-allow %s)", special.name, special.prefix)
	}
	return "outside -rtp-allow"
}

// check refuses a remote the policy does not allow, with ErrLegForbidden.
func (p legPolicy) check(remote netip.AddrPort) error {
	if why := p.refusal(remote.Addr()); why != "" {
		return legForbidden{fmt.Errorf("%w: remote %s is not allowed: %s", ErrBadLeg, remote, why)}
	}
	return nil
}

// legForbidden is a refusal by the operator's policy: ErrLegForbidden and
// ErrBadLeg, with the one reason of the error it wraps.
type legForbidden struct{ err error }

func (e legForbidden) Error() string   { return e.err.Error() }
func (e legForbidden) Unwrap() []error { return []error{ErrLegForbidden, e.err} }

// legEntry is a live leg as the engine's book records it.
type legEntry struct {
	room media.RoomID
	// port is the leg's bound port (on every local address) and
	// advertised the address its remote is told to send to.
	port       uint16
	advertised netip.AddrPort
	// sendsHere is the remote's port when the remote is this host, else 0:
	// a leg bound there would receive this one's packets.
	sendsHere uint16
}

// legBook is the engine's record of its live plain-RTP legs, for the per
// room cap and to refuse loops (a leg sending to a leg).
type legBook struct {
	mu      sync.Mutex
	perRoom map[media.RoomID]int
	live    map[*legEntry]struct{}
}

// bookLeg opens the socket of a new leg of room toward remote and records
// it. It refuses a room at its cap (ErrRoomFull) and a remote that is a
// live leg's own address (ErrBadLeg), and never binds a port a live leg
// sends to. hostRemote says remote reaches this host. Binding and booking
// share one lock, so two requests cannot each miss the loop the other makes.
func (e *Engine) bookLeg(room media.RoomID, remote netip.AddrPort, hostRemote bool) (*net.UDPConn, *legEntry, error) {
	b := &e.legs
	b.mu.Lock()
	defer b.mu.Unlock()
	if limit := e.cfg.MaxLegsPerRoom; limit > 0 && b.perRoom[room] >= limit {
		return nil, nil, fmt.Errorf("%w: room %s has %d plain-RTP legs, the most allowed", ErrRoomFull, room, limit)
	}
	for l := range b.live {
		if remote == l.advertised || hostRemote && remote.Port() == l.port {
			return nil, nil, fmt.Errorf("%w: remote %s is a plain-RTP leg of this server (a loop)", ErrBadLeg, remote)
		}
	}
	conn, err := e.listenLeg(remote, func(port uint16) bool {
		if hostRemote && port == remote.Port() {
			return true // the leg would send to itself
		}
		for l := range b.live {
			if l.sendsHere == port {
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, nil, err
	}
	entry := &legEntry{room: room, port: uint16(conn.LocalAddr().(*net.UDPAddr).Port), advertised: e.advertised(conn, remote)}
	if hostRemote {
		entry.sendsHere = remote.Port()
	}
	if b.live == nil {
		b.perRoom, b.live = map[media.RoomID]int{}, map[*legEntry]struct{}{}
	}
	b.live[entry] = struct{}{}
	b.perRoom[room]++
	return conn, entry, nil
}

// unbookLeg forgets a leg that has closed.
func (e *Engine) unbookLeg(entry *legEntry) {
	b := &e.legs
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.live, entry)
	if b.perRoom[entry.room]--; b.perRoom[entry.room] == 0 {
		delete(b.perRoom, entry.room)
	}
}

// isHostAddr reports whether packets sent to ip reach this host: loopback,
// unspecified, a configured public IP or an interface's address.
func (e *Engine) isHostAddr(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	for _, p := range e.cfg.PublicIPs {
		if a, err := netip.ParseAddr(p); err == nil && a.Unmap() == ip {
			return true
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip {
				return true
			}
		}
	}
	return false
}
