package transport

import (
	"net/netip"
	"testing"
	"time"
)

func TestIPLimiter(t *testing.T) {
	l := newIPLimiter(20, 40)
	t0 := time.Unix(100, 0)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 40 {
		if ok, _ := l.allow(a, t0); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.allow(a, t0)
	if ok || wait != 50*time.Millisecond {
		t.Fatalf("41st request: allowed %v, retry after %v (want refused, 50 ms)", ok, wait)
	}
	if ok, _ := l.allow(b, t0); !ok {
		t.Fatal("another address is limited by the first one's requests")
	}
	if ok, _ := l.allow(a, t0.Add(50*time.Millisecond)); !ok {
		t.Fatal("a token refilled after 50 ms is refused")
	}
	if ok, _ := l.allow(a, t0.Add(50*time.Millisecond)); ok {
		t.Fatal("a second request on one refilled token is allowed")
	}
	l.allow(b, t0.Add(10*time.Minute)) // sweeps a, refilled long ago
	if _, kept := l.buckets[a]; kept {
		t.Fatal("a full bucket is kept after a sweep")
	}
}
