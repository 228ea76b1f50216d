package transport

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/auth"
)

// FrontDoor is what the HTTP API checks before it does any work for a
// request: who may ask (join tokens), how often (per client IP), and
// whether the server still takes newcomers (draining).
type FrontDoor struct {
	// Auth verifies join tokens; nil leaves the API open (development).
	Auth *auth.Authority
	// TURNSecret, when set, gives each client ephemeral TURN REST
	// credentials (coturn's use-auth-secret) for the turn: servers,
	// valid for TURNTTL (default 12 h).
	TURNSecret []byte
	TURNTTL    time.Duration
	// JoinRate and JoinBurst bound join and leg requests per client IP
	// (well-formed or not); JoinRate 0 turns the limit off.
	JoinRate  float64
	JoinBurst int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// DefaultJoinRate and DefaultJoinBurst are the per-IP request limits a
// server starts with.
const (
	DefaultJoinRate  = 20
	DefaultJoinBurst = 40
	defaultTURNTTL   = 12 * time.Hour
	// drainRetryAfter is what a draining server tells a client to wait
	// before trying again (elsewhere, behind a load balancer).
	drainRetryAfter = 5 * time.Second
)

// frontDoor is a Server's copy of FrontDoor with its state.
type frontDoor struct {
	FrontDoor
	limit    *ipLimiter // nil: no limit
	draining atomic.Bool
}

func newFrontDoor(fd FrontDoor) *frontDoor {
	if fd.Now == nil {
		fd.Now = time.Now
	}
	if fd.TURNTTL <= 0 {
		fd.TURNTTL = defaultTURNTTL
	}
	f := &frontDoor{FrontDoor: fd}
	if fd.JoinRate > 0 {
		f.limit = newIPLimiter(fd.JoinRate, fd.JoinBurst)
	}
	return f
}

// openClaims are what every request may do when auth is off.
var openClaims = auth.Claims{Room: auth.AnyRoom, Grants: auth.Grants{Publish: true, Subscribe: true, Admin: true}}

// authorize checks the request's bearer token for room and need, and
// answers 401 or 403 with the reason itself when it fails.
func (f *frontDoor) authorize(w http.ResponseWriter, r *http.Request, room string, need auth.Grant) (auth.Claims, bool) {
	if f.Auth == nil {
		return openClaims, true
	}
	c, err := f.claims(r)
	if err == nil {
		err = c.Allows(room, need)
	}
	switch {
	case err == nil:
		return c, true
	case errors.Is(err, auth.ErrForbidden):
		httpError(w, http.StatusForbidden, "%v", err)
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="mcu"`)
		httpError(w, http.StatusUnauthorized, "%v", err)
	}
	return auth.Claims{}, false
}

// Authorize checks the request's bearer token for room and need as the
// join API does, answering 401 or 403 itself when it fails: for the other
// HTTP handlers of the page (events, layout).
func (s *Server) Authorize(w http.ResponseWriter, r *http.Request, room string, need auth.Grant) (auth.Claims, bool) {
	return s.door.authorize(w, r, room, need)
}

// claims verifies the request's bearer token.
func (f *frontDoor) claims(r *http.Request) (auth.Claims, error) {
	tok, err := auth.BearerToken(r.Header.Get("Authorization"))
	if err != nil {
		return auth.Claims{}, err
	}
	return f.Auth.Verify(tok)
}

// admit applies the per-IP limit and the drain to a request that would
// add a participant, answering 429 or 503 itself when it may not go on.
func (f *frontDoor) admit(w http.ResponseWriter, r *http.Request) bool {
	if f.draining.Load() {
		retryAfter(w, drainRetryAfter)
		httpError(w, http.StatusServiceUnavailable, "server is draining: join another one")
		return false
	}
	if f.limit == nil {
		return true
	}
	if ok, wait := f.limit.allow(clientIP(r), f.Now()); !ok {
		retryAfter(w, wait)
		httpError(w, http.StatusTooManyRequests, "too many requests from %s: at most %g a second", clientIP(r), f.JoinRate)
		return false
	}
	return true
}

// retryAfter sets Retry-After in whole seconds, at least one.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
}

// clientIP is the request's peer address: the limit is per connection
// source, not per a header a client could set.
func clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// SetDraining makes the API refuse new participants (503 with
// Retry-After) and /readyz report 503, for a graceful shutdown.
func (s *Server) SetDraining(on bool) { s.door.draining.Store(on) }

// handleReady is the readiness probe: 503 while draining.
func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if s.door.draining.Load() {
		httpError(w, http.StatusServiceUnavailable, "draining")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n"))
}
