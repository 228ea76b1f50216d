// Package netshape builds a real, rate-limited network link for tests: a
// network namespace joined to the host by a veth pair, with a tc token
// bucket (tbf) on the host side shaping everything sent toward the
// namespace. A process started in the namespace (Command) sees a link of
// that rate, with the queueing and drops of a real bottleneck. It needs root
// and iproute2's ip and tc; tests take a link with NewForTest, which skips
// them where there is none.
package netshape

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Link is one namespace and its veth pair.
type Link struct {
	NS string
	// HostIf and HostIP are the host end (where a server listens);
	// PeerIf and PeerIP the namespace end.
	HostIf, PeerIf string
	HostIP, PeerIP string
}

// New creates a namespace and a /30 veth link to it with no shaping. Where
// a link cannot be built here (not root, no iproute2, namespaces refused)
// the error wraps ErrUnavailable.
func New() (*Link, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: network namespaces and tc need root (uid %d)", ErrUnavailable, os.Geteuid())
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%w: %w (Debian package iproute2: make deps-test)", ErrUnavailable, err)
		}
	}
	id := rand.IntN(1 << 16)
	l := &Link{
		NS:     fmt.Sprintf("mcu-shape-%04x", id),
		HostIf: fmt.Sprintf("mcush%04x", id),
		PeerIf: fmt.Sprintf("mcusp%04x", id),
		HostIP: fmt.Sprintf("10.%d.%d.1", 200+id>>14, (id>>6)&0xff),
		PeerIP: fmt.Sprintf("10.%d.%d.2", 200+id>>14, (id>>6)&0xff),
	}
	steps := [][]string{
		{"ip", "netns", "add", l.NS},
		{"ip", "link", "add", l.HostIf, "type", "veth", "peer", "name", l.PeerIf},
		{"ip", "link", "set", l.PeerIf, "netns", l.NS},
		{"ip", "addr", "add", l.HostIP + "/30", "dev", l.HostIf},
		{"ip", "link", "set", l.HostIf, "up"},
		{"ip", "netns", "exec", l.NS, "ip", "addr", "add", l.PeerIP + "/30", "dev", l.PeerIf},
		{"ip", "netns", "exec", l.NS, "ip", "link", "set", l.PeerIf, "up"},
		{"ip", "netns", "exec", l.NS, "ip", "link", "set", "lo", "up"},
	}
	if err := run(steps[0]...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for _, s := range steps[1:] {
		if err := run(s...); err != nil {
			_ = l.Close()
			return nil, err
		}
	}
	return l, nil
}

// NewForTest returns a new link, closed when the test ends, or skips the
// test, saying why, where a shaped link cannot be built: in -short (the
// link needs root), when not root, without iproute2, or when network
// namespaces are refused. Any other failure fails the test.
func NewForTest(tb testing.TB) *Link {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipped in -short: a shaped link needs root, iproute2 and network namespaces (ip netns, tc)")
	}
	l, err := New()
	if errors.Is(err, ErrUnavailable) {
		tb.Skipf("skipped: a shaped link needs root, iproute2 and network namespaces: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	return l
}

// SetRate shapes the host→namespace direction to kbps kilobits per second
// with a queue of at most queueMs of data (0 kbps: no shaping). The burst
// is small (two full packets or one millisecond of data), so the rate
// holds over milliseconds as on a real access link.
func (l *Link) SetRate(kbps, queueMs int) error {
	_ = run("tc", "qdisc", "del", "dev", l.HostIf, "root")
	if kbps <= 0 {
		return nil
	}
	burst := max(3000, kbps*1000/8/1000)
	return run("tc", "qdisc", "add", "dev", l.HostIf, "root", "tbf",
		"rate", fmt.Sprintf("%dkbit", kbps), "burst", fmt.Sprint(burst), "latency", fmt.Sprintf("%dms", queueMs))
}

// Command runs name with args inside the namespace.
func (l *Link) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.NS, name}, args...)...)
}

// Close deletes the namespace; its veth pair goes with it.
func (l *Link) Close() error {
	return run("ip", "netns", "del", l.NS)
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Stats reads the shaper's counters: bytes sent toward the namespace and
// packets dropped at the bottleneck.
func (l *Link) Stats() (sentBytes, dropped int, err error) {
	out, err := exec.Command("tc", "-s", "qdisc", "show", "dev", l.HostIf).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("tc -s qdisc: %w: %s", err, out)
	}
	i := strings.Index(string(out), "Sent ")
	if i < 0 {
		return 0, 0, fmt.Errorf("tc -s qdisc: no counters in %q", out)
	}
	var pkts int
	_, err = fmt.Sscanf(string(out[i:]), "Sent %d bytes %d pkt (dropped %d", &sentBytes, &pkts, &dropped)
	return sentBytes, dropped, err
}
