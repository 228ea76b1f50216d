package transport

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestLegPolicy: which remotes a leg may send to, by default (any global
// unicast address, private ones included) and with -rtp-allow (the listed
// networks; the special ranges only through a prefix inside them).
func TestLegPolicy(t *testing.T) {
	prefixes := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, p := range s {
			out = append(out, netip.MustParsePrefix(p).Masked())
		}
		return out
	}
	cases := []struct {
		name   string
		allow  []netip.Prefix
		remote string
		want   string // "" allowed, else the reason's tail
	}{
		{"public IPv4", nil, "203.0.113.9:5004", ""},
		{"RFC 1918", nil, "10.1.2.3:5004", ""},
		{"unique local IPv6", nil, "[fd00::1]:5004", ""},
		{"public IPv6", nil, "[2001:db8::1]:5004", ""},
		{"loopback", nil, "127.0.0.1:5004", "loopback (allow it with -rtp-allow 127.0.0.0/8)"},
		{"loopback, not .1", nil, "127.8.9.10:5004", "loopback (allow it with -rtp-allow 127.0.0.0/8)"},
		{"IPv6 loopback", nil, "[::1]:5004", "loopback (allow it with -rtp-allow ::1/128)"},
		{"IPv4-mapped loopback", nil, "[::ffff:127.0.0.1]:5004", "loopback (allow it with -rtp-allow 127.0.0.0/8)"},
		{"link-local", nil, "169.254.169.254:80", "link-local (allow it with -rtp-allow 169.254.0.0/16)"},
		{"IPv6 link-local with zone", nil, "[fe80::1%lo]:5004", "link-local (allow it with -rtp-allow fe80::/10)"},
		{"multicast", nil, "239.1.2.3:5004", "multicast (allow it with -rtp-allow 224.0.0.0/4)"},
		{"IPv6 multicast", nil, "[ff02::1]:5004", "multicast (allow it with -rtp-allow ff00::/8)"},
		{"limited broadcast", nil, "255.255.255.255:5004", "broadcast (allow it with -rtp-allow 255.255.255.255/32)"},
		{"unspecified", nil, "0.0.0.0:5004", "unspecified (allow it with -rtp-allow 0.0.0.0/32)"},
		{"IPv6 unspecified", nil, "[::]:5004", "unspecified (allow it with -rtp-allow ::/128)"},
		{"listed", prefixes("10.0.0.0/8"), "10.9.9.9:5004", ""},
		{"not listed", prefixes("10.0.0.0/8"), "203.0.113.9:5004", "outside -rtp-allow"},
		{"listed host bits", prefixes("192.168.1.77/24"), "192.168.1.5:5004", ""},
		{"loopback listed", prefixes("127.0.0.0/8"), "127.0.0.1:5004", ""},
		{"one loopback host listed", prefixes("127.0.0.2/32"), "127.0.0.2:5004", ""},
		{"another loopback host", prefixes("127.0.0.2/32"), "127.0.0.1:5004", "loopback (allow it with -rtp-allow 127.0.0.0/8)"},
		{"everything IPv4 is not loopback", prefixes("0.0.0.0/0"), "127.0.0.1:5004", "loopback (allow it with -rtp-allow 127.0.0.0/8)"},
		{"everything IPv4 is not multicast", prefixes("0.0.0.0/0"), "224.0.0.251:5353", "multicast (allow it with -rtp-allow 224.0.0.0/4)"},
		{"everything IPv4 is every global address", prefixes("0.0.0.0/0"), "8.8.8.8:53", ""},
		{"one multicast group", prefixes("239.1.0.0/16"), "239.1.2.3:5004", ""},
		{"IPv4 list, IPv6 remote", prefixes("10.0.0.0/8"), "[2001:db8::1]:5004", "outside -rtp-allow"},
		{"IPv4 list, mapped remote", prefixes("10.0.0.0/8"), "[::ffff:10.0.0.1]:5004", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ap := netip.MustParseAddrPort(tc.remote)
			p := legPolicy{tc.allow}
			err := p.check(ap)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else if !errors.Is(err, ErrLegForbidden) || !errors.Is(err, ErrBadLeg) || !strings.HasSuffix(err.Error(), "is not allowed: "+tc.want) {
				t.Fatalf("got %v, want ErrLegForbidden and ErrBadLeg ending %q", err, tc.want)
			}
			if tc.allow == nil && (err == nil) != ap.Addr().IsGlobalUnicast() {
				t.Fatalf("default policy allows %v: %v, but IsGlobalUnicast says %v", ap.Addr(), err == nil, ap.Addr().IsGlobalUnicast())
			}
		})
	}
}
