package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mcu-project/mcu/api"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/cluster"
	"github.com/mcu-project/mcu/internal/selfcpu"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"github.com/mcu-project/mcu/transport"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Headers of a request that one node routes to another. The route key is
// the cluster's shared secret (cluster.Node.RouteKey): with it, the node
// that receives the request serves it itself (no loops) and takes the
// forwarded address as the client's, so the per-IP join limit counts the
// client, not the node that routed it.
const (
	routeKeyHeader     = "Mcu-Route-Key"
	forwardedForHeader = "Mcu-Forwarded-For"
)

// routeRetryAfter is what a client that could not be routed is told to
// wait: NATS reconnects within a second, a dead node leaves the registry
// within its TTL.
const routeRetryAfter = "2"

// nodeID is the configured node id, or the host name's first label made
// into one.
func (c Config) nodeID() string {
	if c.NodeID != "" {
		return c.NodeID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "mcu"
	}
	host, _, _ = strings.Cut(host, ".")
	return regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(host, "-")
}

// publicURL is -public-url, or the HTTP listener's address with loopback
// for an unspecified host: right for one node or a cluster on one host.
func (c Config) publicURL(httpAddr net.Addr, log *slog.Logger) string {
	if c.PublicURL != "" {
		return strings.TrimSuffix(c.PublicURL, "/")
	}
	ta, ok := httpAddr.(*net.TCPAddr)
	if !ok {
		return "http://" + httpAddr.String()
	}
	host := ta.IP.String()
	if ta.IP.IsUnspecified() {
		host = "127.0.0.1"
		if len(c.NATS) > 0 {
			log.Warn("no -public-url: the other nodes will look for this one on loopback", "http", httpAddr.String())
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(ta.Port))
}

// startNode joins the cluster (an in-process NATS without -nats).
func startNode(cfg Config, httpAddr net.Addr, sample func() cluster.Load, serve func(context.Context, string, []byte) ([]byte, error),
	onEvent func([]byte), log *slog.Logger) (*cluster.Node, error) {
	node, err := cluster.New(cluster.Config{ID: cfg.nodeID(), PublicURL: cfg.publicURL(httpAddr, log), NATS: cfg.NATS,
		Replicas: cfg.NATSReplicas, Targets: cluster.Targets{CPU: cfg.CPUTarget, Tick: cfg.TickTarget}, Sample: sample, Serve: serve, OnEvent: onEvent, Logger: log})
	if err != nil {
		return nil, err
	}
	if len(cfg.NATS) == 0 {
		log.Info("single node: in-process NATS", "node", node.ID())
	} else {
		log.Info("cluster node", "node", node.ID(), "nats", strings.Join(cfg.NATS, ","))
	}
	return node, nil
}

// clusterCollectors are the node's metrics: what its NATS connection
// carries (heartbeats, the directory, routed calls, events) and whether
// it is set up in the cluster.
func clusterCollectors(node *cluster.Node) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mcu_cluster_nats_received_bytes_total", Help: "Bytes this node received from NATS."},
			func() float64 { return float64(node.Traffic().InBytes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mcu_cluster_nats_sent_bytes_total", Help: "Bytes this node sent to NATS."},
			func() float64 { return float64(node.Traffic().OutBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mcu_cluster_connected", Help: "1 while this node reaches NATS and is registered, else 0 (routing to other nodes is off)."},
			func() float64 {
				if node.Connected() {
					return 1
				}
				return 0
			}),
	}
}

// loadWindow is how many heartbeats the load is measured over: one late
// tick in a second of 50 would be the p99 of that second alone, and one
// join's handshakes its CPU.
const loadWindow = 5

// minLoadSpan is the shortest time CPU and tick lateness are measured
// over. A heartbeat comes early when NATS (re)connects, a few
// milliseconds after the one before it at start-up: measured over those
// milliseconds, the start-up's own burst read as 70-90 % CPU, and a
// server that had just started refused its first room.
const minLoadSpan = 500 * time.Millisecond

// loadSampler measures the node's load over the last loadWindow
// heartbeats; only the node's loop calls it.
type loadSampler struct {
	rooms *room.Manager
	ticks prometheus.Histogram // mix tick lateness
	cap   int
	past  []loadMark // oldest first, at most loadWindow, minLoadSpan apart
	last  cluster.Load
}

// loadMark is what the counters read at one heartbeat.
type loadMark struct {
	at   time.Time
	cpu  time.Duration
	hist []uint64 // the ticks' cumulative bucket counts
	n    uint64   // ticks
}

func (s *loadSampler) sample() cluster.Load {
	st := s.rooms.Stats()
	l := cluster.Load{Participants: st.Participants, Rooms: st.Rooms, Cap: s.cap}
	var m dto.Metric
	if err := s.ticks.Write(&m); err != nil {
		return l
	}
	now := loadMark{at: time.Now(), cpu: selfcpu.Time(), n: m.GetHistogram().GetSampleCount()}
	for _, b := range m.GetHistogram().GetBucket() {
		now.hist = append(now.hist, b.GetCumulativeCount())
	}
	if len(s.past) > 0 && now.at.Sub(s.past[len(s.past)-1].at) < minLoadSpan {
		// Too soon after the last mark: what that one measured stands.
		l.CPU, l.TickP99 = s.last.CPU, s.last.TickP99
		return l
	}
	if len(s.past) > 0 {
		old := s.past[0]
		l.CPU = float64(now.cpu-old.cpu) / float64(now.at.Sub(old.at)) / float64(cores)
		l.TickP99 = tickP99(m.GetHistogram().GetBucket(), old, now)
	}
	if s.past = append(s.past, now); len(s.past) > loadWindow {
		s.past = s.past[1:]
	}
	s.last = l
	return l
}

// tickP99 is the p99 of the ticks between two marks: the upper bound of
// the bucket it falls in.
func tickP99(buckets []*dto.Bucket, old, now loadMark) time.Duration {
	total := now.n - old.n
	if total == 0 || len(old.hist) != len(now.hist) || len(buckets) != len(now.hist) {
		return 0
	}
	for i, b := range buckets {
		if float64(now.hist[i]-old.hist[i]) >= 0.99*float64(total) {
			return time.Duration(b.GetUpperBound() * float64(time.Second))
		}
	}
	// Beyond the last bucket: at least its bound.
	return time.Duration(buckets[len(buckets)-1].GetUpperBound() * float64(time.Second))
}

// claimHome claims the room's home for this node before the room is
// created. The cluster's refusals (NATS out of reach, a living home
// elsewhere) count as the server being unable to take the room now: 503
// over HTTP, Unavailable over gRPC, with the cluster's reason.
func claimHome(node *cluster.Node, id media.RoomID) (func(), error) {
	release, err := node.Claim(id)
	if err != nil {
		return nil, kindError{room.ErrClosed, err}
	}
	return release, nil
}

// remoteEvents hands the other nodes' events to this node's event
// streams.
func remoteEvents(events *api.Broker, log *slog.Logger) func([]byte) {
	return func(data []byte) {
		ev, err := decodeEvent(data)
		if err != nil {
			log.Warn("an event from another node that is no event", "err", err)
			return
		}
		events.Publish(ev)
	}
}

// encodeEvent and decodeEvent carry room events between nodes.
func encodeEvent(ev room.Event) []byte {
	b, _ := json.Marshal(ev) // plain fields: it cannot fail
	return b
}

func decodeEvent(data []byte) (room.Event, error) {
	var ev room.Event
	err := json.Unmarshal(data, &ev)
	return ev, err
}

// router sends each join, leave and leg request to the node that hosts
// its room, proxying the HTTP request as it came (Authorization and body
// included): the SDP answer is the home's, with the home's candidates,
// so media flows straight between the client and the home. Everything
// else, and whatever the home is this node, is served here.
type router struct {
	node  *cluster.Node
	rooms *room.Manager
	auth  *auth.Authority // nil: auth is off
	local http.Handler
	mux   *http.ServeMux
	// transport keeps connections to the other nodes open, so a routed
	// join costs no TCP handshake.
	transport *http.Transport
	log       *slog.Logger
}

func newRouter(node *cluster.Node, rooms *room.Manager, authority *auth.Authority, local http.Handler, log *slog.Logger) *router {
	rt := &router{node: node, rooms: rooms, auth: authority, local: local, log: log.With("component", "router"),
		transport: &http.Transport{DialContext: (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: 30 * time.Second}}
	rt.mux = http.NewServeMux()
	rt.mux.HandleFunc("POST /rooms/{room}/join", rt.byRoom(true))
	rt.mux.HandleFunc("POST /rooms/{room}/rtp", rt.byRoom(false))
	// The page's event stream and layout choice are the home's (its
	// room's events and state); a participant's mute goes by its ID.
	rt.mux.HandleFunc("GET /rooms/{room}/events", rt.byRoom(false))
	rt.mux.HandleFunc("PUT /rooms/{room}/layout", rt.byRoom(false))
	rt.mux.HandleFunc("POST /rooms/{room}/participants/{id}/mute", rt.byParticipant)
	// A participant ID starts with its node's id (room.Config.IDPrefix):
	// its Location routes without a lookup, even while NATS is away, and
	// the transport's Location format stays its own.
	rt.mux.HandleFunc("DELETE /rooms/{room}/participants/{id}", rt.byParticipant)
	rt.mux.HandleFunc("PATCH /rooms/{room}/participants/{id}", rt.byParticipant)
	// WHIP publishers and WHEP viewers likewise: their sessions' IDs are
	// participant IDs.
	for _, kind := range []string{transport.KindWHIP, transport.KindWHEP} {
		rt.mux.HandleFunc("POST /"+kind+"/{room}", rt.byRoom(true))
		rt.mux.HandleFunc("PATCH /"+kind+"/{room}/{id}", rt.byParticipant)
		rt.mux.HandleFunc("DELETE /"+kind+"/{room}/{id}", rt.byParticipant)
	}
	rt.mux.Handle("/", local)
	return rt
}

// participantPrefix is what starts the IDs of this node's participants.
func participantPrefix(node string) string { return node + "." }

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.routedHere(r) {
		rt.local.ServeHTTP(w, r)
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// close drops the idle connections to other nodes.
func (rt *router) close() { rt.transport.CloseIdleConnections() }

// routedHere reports whether another node of the cluster routed r here;
// r then comes from the client's address.
func (rt *router) routedHere(r *http.Request) bool {
	key, from := r.Header.Get(routeKeyHeader), r.Header.Get(forwardedForHeader)
	r.Header.Del(routeKeyHeader)
	r.Header.Del(forwardedForHeader)
	own := rt.node.RouteKey()
	if key == "" || own == "" || subtle.ConstantTimeCompare([]byte(key), []byte(own)) != 1 {
		return false
	}
	if ip, err := netip.ParseAddr(from); err == nil {
		r.RemoteAddr = netip.AddrPortFrom(ip, 0).String()
	}
	return true
}

// byRoom routes a request for a room; create: a room nobody hosts is
// placed on the least-stressed node (a join), else the local answer
// (404) stands.
func (rt *router) byRoom(create bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := media.RoomID(r.PathValue("room"))
		// What the home would refuse, this node refuses itself, before
		// a stranger's request makes it claim a home in the directory.
		if len(id) > 64 || !rt.authorized(r, string(id)) {
			rt.local.ServeHTTP(w, r)
			return
		}
		home, err := rt.home(r.Context(), id, create)
		if err == nil {
			err = rt.node.Admit(home.ID)
		}
		switch {
		case errors.Is(err, cluster.ErrNoRoom):
			rt.local.ServeHTTP(w, r)
		case err != nil:
			unroutable(w, err)
		case home.ID == rt.node.ID():
			rt.local.ServeHTTP(w, r)
		default:
			rt.forward(w, r, home)
		}
	}
}

// home is the room's node: this one when the room is here (no lookup:
// this works without NATS), else the directory's.
func (rt *router) home(ctx context.Context, id media.RoomID, create bool) (cluster.NodeInfo, error) {
	if _, err := rt.rooms.Room(id); err == nil {
		return cluster.NodeInfo{ID: rt.node.ID()}, nil
	}
	return rt.node.Home(ctx, id, create)
}

// authorized reports whether r's token (if auth is on) lets its holder
// into room at all; the home checks the grants.
func (rt *router) authorized(r *http.Request, room string) bool {
	if rt.auth == nil {
		return true
	}
	tok, err := auth.BearerToken(r.Header.Get("Authorization"))
	if err != nil {
		return false
	}
	c, err := rt.auth.Verify(tok)
	return err == nil && c.Allows(room, auth.GrantUnknown) == nil
}

// byParticipant routes a request for a participant to the node its ID
// names.
func (rt *router) byParticipant(w http.ResponseWriter, r *http.Request) {
	node, _, ok := strings.Cut(r.PathValue("id"), ".")
	if !ok || node == rt.node.ID() {
		rt.local.ServeHTTP(w, r)
		return
	}
	home, err := rt.node.Lookup(node)
	switch {
	case errors.Is(err, cluster.ErrUnknownNode):
		rt.local.ServeHTTP(w, r) // its node is gone, and it with it: 404
	case err != nil:
		unroutable(w, err)
	default:
		rt.forward(w, r, home)
	}
}

// forward proxies r to home.
func (rt *router) forward(w http.ResponseWriter, r *http.Request, home cluster.NodeInfo) {
	target, err := url.Parse(home.URL)
	if err != nil || target.Host == "" {
		unroutable(w, fmt.Errorf("node %s has no usable public URL %q", home.ID, home.URL))
		return
	}
	key := rt.node.RouteKey()
	proxy := &httputil.ReverseProxy{
		Transport: rt.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(routeKeyHeader, key)
			if ap, err := netip.ParseAddrPort(pr.In.RemoteAddr); err == nil {
				pr.Out.Header.Set(forwardedForHeader, ap.Addr().Unmap().String())
			}
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			rt.log.Warn("routing to a node failed", "node", home.ID, "url", home.URL, "err", err)
			unroutable(w, fmt.Errorf("the room's node %s did not answer: %w", home.ID, err))
		},
	}
	proxy.ServeHTTP(w, r)
}

// unroutable answers a request that cannot reach its room's node: 503
// with Retry-After and the reason, on one line.
func unroutable(w http.ResponseWriter, err error) {
	w.Header().Set("Retry-After", routeRetryAfter)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, strings.ReplaceAll("cannot route the request: "+err.Error(), "\n", " ")+"\n")
}
