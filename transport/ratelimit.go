package transport

import (
	"net/netip"
	"sync"
	"time"
)

// ipLimiter is a token bucket per client IP: rate requests a second with
// bursts of burst. Buckets that have refilled are forgotten, so a flood
// of addresses costs memory only while they are active.
type ipLimiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the addresses tracked at once; beyond it, new
// addresses share one bucket (a flood from many addresses is limited as one).
const maxBuckets = 65536

func newIPLimiter(rate float64, burst int) *ipLimiter {
	return &ipLimiter{rate: rate, burst: float64(max(burst, 1)), buckets: map[netip.Addr]*bucket{}}
}

// allow takes a token for ip at now; when none is left it returns how long
// until one is.
func (l *ipLimiter) allow(ip netip.Addr, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweepLocked(now)
	}
	b, ok := l.buckets[ip]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			ip = netip.Addr{}
			b = l.buckets[ip]
		}
		if b == nil {
			b = &bucket{tokens: l.burst, at: now}
			l.buckets[ip] = b
		}
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweepLocked forgets buckets that are full again.
func (l *ipLimiter) sweepLocked(now time.Time) {
	l.swept = now
	for ip, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, ip)
		}
	}
}
