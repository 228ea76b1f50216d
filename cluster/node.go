// Package cluster is the MCU's side of NATS: the registry of nodes and
// their load (heartbeats in a JetStream key-value bucket with a TTL), the
// room directory (a room's home, claimed with create-if-absent and changed
// only by compare-and-set), placement and admission by stress, and
// request/reply and events between nodes. A single node runs the same code
// over an in-process NATS server.
//
// NATS holds only soft state that the nodes assert again whenever they
// (re)connect: their heartbeats and the homes of the rooms they host. So a
// NATS that restarts empty is whole again within a heartbeat, and losing
// NATS stops routing while every room goes on.
package cluster

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures a Node.
type Config struct {
	// ID names the node: 1-64 letters, digits, '_' or '-' (it is a NATS
	// subject token and a key).
	ID string
	// PublicURL is where the other nodes reach this node's HTTP API.
	PublicURL string
	// NATS are the servers' URLs; none: an in-process server with
	// JetStream in memory, no port opened.
	NATS []string
	// Replicas of the buckets in a clustered NATS (default 1).
	Replicas int
	// Targets are what the node's stress is measured against (zero:
	// participants against their cap alone).
	Targets Targets
	// Sample measures the node's load for a heartbeat (required).
	Sample func() Load
	// Heartbeat is how often the node reports (default 1 s); NodeTTL how
	// long a node stays registered after its last report (default 4 s).
	Heartbeat, NodeTTL time.Duration
	// Timeout bounds each NATS operation (default 2 s).
	Timeout time.Duration
	// Serve answers requests from other nodes (nil: none are answered).
	// It runs on a goroutine of its own per request.
	Serve func(ctx context.Context, method string, body []byte) ([]byte, error)
	// OnEvent is handed the events other nodes publish, while anyone
	// watches them (WatchEvents).
	OnEvent func(data []byte)
	Logger  *slog.Logger

	// inProcess, set by tests, connects to a server they run in-process.
	inProcess nats.InProcessConnProvider
	// sweepEvery, set by tests, replaces defaultSweepEvery.
	sweepEvery time.Duration
}

// Defaults of Config.
const (
	defaultHeartbeat = time.Second
	defaultNodeTTL   = 4 * time.Second
	defaultTimeout   = 2 * time.Second
	// reconnectWait is how long the client waits between reconnection
	// attempts: a NATS that returns is seen within it.
	reconnectWait = 250 * time.Millisecond
	// maxServing bounds the requests from other nodes served at once.
	maxServing = 64
)

// Names in NATS.
const (
	nodesBucket   = "mcu-nodes"
	roomsBucket   = "mcu-rooms"
	routeKeyKey   = "route-key"
	roomKeyPrefix = "room."
	rpcSubject    = "mcu.rpc."
	eventSubject  = "mcu.events."
	methodHeader  = "Mcu-Method"
	errCodeHeader = "Mcu-Error-Code"
	errHeader     = "Mcu-Error"
)

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Node is this server's membership of the cluster.
type Node struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	nc      *nats.Conn
	js      jetstream.JetStream
	embed   *server.Server // nil with external NATS
	embDir  string

	draining atomic.Bool
	kick     chan struct{} // report now
	// reconnected asks the next report to set up again first: NATS may
	// have restarted empty.
	reconnected atomic.Bool
	ready       chan struct{} // closed once first set up
	readyOnce   sync.Once
	stop        chan struct{}
	loopDone    chan struct{} // run has returned
	// wg holds every other goroutine: requests served, releases, the
	// registry's watches ending.
	wg      sync.WaitGroup
	serving chan struct{} // a slot per request being served
	rpcSub  *nats.Subscription
	// suspects are the directory entries the last sweep found orphaned,
	// with their revisions; only run's goroutine uses them.
	suspects map[string]uint64

	mu       sync.Mutex
	closed   bool
	nodesKV  jetstream.KeyValue // nil until set up
	roomsKV  jetstream.KeyValue
	routeKey string
	peers    map[string]*peer
	held     map[media.RoomID]*claim
	watching *watcher           // the registry's, while set up
	watchers int                // WatchEvents callers
	eventSub *nats.Subscription // while watchers > 0
}

// peer is a registered node as this node last heard of it.
type peer struct {
	info NodeInfo
	seen time.Time
}

// claim is this node's hold on a room's home: the directory entry's
// revision that the node last wrote.
type claim struct{ rev uint64 }

// New validates cfg, starts the in-process NATS server if no URL is
// given, and connects; an unreachable NATS is retried in the background.
func New(cfg Config) (*Node, error) {
	if !nodeIDPattern.MatchString(cfg.ID) {
		return nil, fmt.Errorf("%w: node id %q: use 1-64 letters, digits, '_' or '-'", ErrBadConfig, cfg.ID)
	}
	if cfg.Sample == nil {
		return nil, fmt.Errorf("%w: no load sampler", ErrBadConfig)
	}
	if cfg.Targets.CPU < 0 || cfg.Targets.CPU > 1 || cfg.Targets.Tick < 0 || cfg.Replicas < 0 || cfg.Replicas > 5 {
		return nil, fmt.Errorf("%w: cpu target %g (want 0..1), tick target %v, replicas %d (want 1..5)", ErrBadConfig, cfg.Targets.CPU, cfg.Targets.Tick, cfg.Replicas)
	}
	cfg.Replicas = cmp.Or(cfg.Replicas, 1)
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, defaultHeartbeat)
	cfg.NodeTTL = cmp.Or(cfg.NodeTTL, defaultNodeTTL)
	cfg.Timeout = cmp.Or(cfg.Timeout, defaultTimeout)
	cfg.sweepEvery = cmp.Or(cfg.sweepEvery, defaultSweepEvery)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("component", "cluster", "node", cfg.ID), started: time.Now(),
		kick: make(chan struct{}, 1), ready: make(chan struct{}), stop: make(chan struct{}), serving: make(chan struct{}, maxServing),
		peers: map[string]*peer{}, held: map[media.RoomID]*claim{}}
	opts := []nats.Option{nats.Name("mcu " + cfg.ID), nats.MaxReconnects(-1), nats.ReconnectWait(reconnectWait),
		nats.ReconnectJitter(50*time.Millisecond, 50*time.Millisecond), nats.RetryOnFailedConnect(true),
		// A NATS that stops answering without closing the connection is
		// noticed within two pings.
		nats.PingInterval(2 * time.Second), nats.MaxPingsOutstanding(2),
		// The first connection: the loop sets up when it sees it (no
		// second set-up if it already has, as it did at every start).
		nats.ConnectHandler(func(*nats.Conn) { n.poke() }),
		nats.ReconnectHandler(func(*nats.Conn) { n.log.Info("NATS is back"); n.reconnected.Store(true); n.poke() }),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			n.lost()
			if nc.IsClosed() {
				return // Close: leaving, not losing
			}
			n.log.Warn("NATS lost: no routing to other nodes until it is back (rooms go on)", "err", err)
		}),
	}
	url := strings.Join(cfg.NATS, ",")
	switch {
	case cfg.inProcess != nil:
		opts = append(opts, nats.InProcessServer(cfg.inProcess))
	case url == "":
		if err := n.startEmbedded(); err != nil {
			return nil, err
		}
		opts = append(opts, nats.InProcessServer(n.embed))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		n.stopEmbedded()
		return nil, fmt.Errorf("NATS %s: %w", url, err)
	}
	n.nc = nc
	if n.js, err = jetstream.New(nc); err == nil {
		n.rpcSub, err = nc.Subscribe(rpcSubject+cfg.ID, n.serve)
	}
	if err != nil {
		nc.Close()
		n.stopEmbedded()
		return nil, err
	}
	n.loopDone = make(chan struct{})
	go n.run()
	// A node that serves before it is set up would refuse every new room:
	// wait for that, unless NATS is out of reach (then the node serves
	// its own rooms meanwhile and sets up when NATS comes).
	select {
	case <-n.ready:
	case <-time.After(n.cfg.Timeout):
		n.log.Warn("NATS is not reachable yet: new rooms are refused until it is", "nats", url)
	}
	return n, nil
}

// startEmbedded runs a NATS server in this process that listens nowhere:
// the node reaches it through an in-memory pipe.
func (n *Node) startEmbedded() error {
	dir, err := os.MkdirTemp("", "mcu-nats-")
	if err != nil {
		return err
	}
	ns, err := server.NewServer(&server.Options{ServerName: "mcu-" + n.cfg.ID, DontListen: true, JetStream: true,
		StoreDir: dir, NoSigs: true, NoLog: true, JetStreamMaxMemory: 64 << 20})
	if err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("in-process NATS: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		_ = os.RemoveAll(dir)
		return fmt.Errorf("%w: in-process NATS did not start", ErrUnavailable)
	}
	n.embed, n.embDir = ns, dir
	return nil
}

func (n *Node) stopEmbedded() {
	if n.embed == nil {
		return
	}
	n.embed.Shutdown()
	n.embed.WaitForShutdown()
	_ = os.RemoveAll(n.embDir)
}

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.ID }

// Connected reports whether NATS is reachable and the node set up in it.
func (n *Node) Connected() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nc.IsConnected() && n.roomsKV != nil
}

// Traffic is what the node's NATS connection carried, both ways.
func (n *Node) Traffic() nats.Statistics { return n.nc.Stats() }

// SetDraining takes the node out of placement (no new rooms) at its next
// heartbeat, sent at once.
func (n *Node) SetDraining(on bool) {
	n.draining.Store(on)
	n.poke()
}

func (n *Node) poke() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// run is the node's loop: it sets the node up in NATS whenever the
// connection is (re)made and reports the node's load every heartbeat.
func (n *Node) run() {
	defer close(n.loopDone)
	tick := time.NewTicker(n.cfg.Heartbeat)
	defer tick.Stop()
	var watch *watcher
	defer func() { watch.stop() }()
	setUp := false
	swept := time.Now()
	for first := true; ; first = false {
		if !first {
			select {
			case <-n.stop:
				return
			case <-tick.C:
			case <-n.kick:
			}
		}
		if n.reconnected.Swap(false) {
			setUp = false
		}
		if !n.nc.IsConnected() {
			n.lost()
			setUp = false
			continue
		}
		if !setUp {
			watch.stop()
			w, err := n.setUp()
			if err != nil {
				n.log.Warn("setting up in NATS", "err", err)
				continue
			}
			watch, setUp = w, true
			n.readyOnce.Do(func() { close(n.ready) })
		}
		n.mu.Lock()
		kv := n.nodesKV
		n.mu.Unlock()
		if kv == nil {
			setUp = false // lost meanwhile
			continue
		}
		if err := n.beatWithin(kv); err != nil {
			// NATS may have lost the bucket (a restart): set up again.
			n.log.Warn("heartbeat", "err", err)
			setUp = false
			continue
		}
		if time.Since(swept) >= n.cfg.sweepEvery {
			n.mu.Lock()
			rooms := n.roomsKV
			n.mu.Unlock()
			if rooms != nil {
				n.sweep(rooms)
			}
			swept = time.Now()
		}
	}
}

// setUp makes the buckets (a NATS that restarted has none), reads the
// routing key, asserts the homes of the rooms this node hosts and starts
// watching the registry.
func (n *Node) setUp() (*watcher, error) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
	defer cancel()
	var nodes, rooms jetstream.KeyValue
	err := n.retried(ctx, func(ctx context.Context) (err error) {
		nodes, err = n.bucket(ctx, jetstream.KeyValueConfig{Bucket: nodesBucket, TTL: n.cfg.NodeTTL, Storage: jetstream.MemoryStorage, Replicas: n.cfg.Replicas})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry bucket: %w", err)
	}
	err = n.retried(ctx, func(ctx context.Context) (err error) {
		rooms, err = n.bucket(ctx, jetstream.KeyValueConfig{Bucket: roomsBucket, Storage: jetstream.MemoryStorage, Replicas: n.cfg.Replicas})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("directory bucket: %w", err)
	}
	var key string
	err = n.retried(ctx, func(ctx context.Context) (err error) {
		key, err = routeKey(ctx, rooms)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("route key: %w", err)
	}
	w, err := n.watch(nodes)
	if err != nil {
		return nil, fmt.Errorf("registry watch: %w", err)
	}
	// Registered before anyone routes through this node: placement
	// counts it, and Connected means it is in the registry.
	if err := n.retried(ctx, func(ctx context.Context) error { return n.beat(ctx, nodes) }); err != nil {
		w.stop()
		return nil, fmt.Errorf("first heartbeat: %w", err)
	}
	// The homes of the rooms hosted here are asserted before the node
	// counts as connected (no claims are made meanwhile: they need the
	// directory): a re-claim whose request went unanswered once left a
	// hosted room without a home in the directory, for another node to
	// place it again.
	n.mu.Lock()
	held := make(map[media.RoomID]*claim, len(n.held))
	for r, c := range n.held {
		held[r] = c
	}
	n.mu.Unlock()
	for r, c := range held {
		if err := n.retried(ctx, func(ctx context.Context) error { return n.reclaim(ctx, rooms, r, c) }); err != nil {
			w.stop()
			return nil, fmt.Errorf("re-claiming room %s: %w", r, err)
		}
	}
	n.mu.Lock()
	n.nodesKV, n.roomsKV, n.routeKey, n.watching = nodes, rooms, key, w
	n.mu.Unlock()
	n.log.Info("registered in the cluster", "url", n.cfg.PublicURL, "rooms", len(held))
	return w, nil
}

// bucket opens a bucket, making it if it is not there.
func (n *Node) bucket(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := n.js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		return n.js.KeyValue(ctx, cfg.Bucket)
	}
	return kv, err
}

// retried runs one of the set-up's requests, or a heartbeat, in attempts
// of a quarter of the timeout until one is answered or ctx ends. Right after NATS came
// back (restarted, empty), one node's request of a set-up was seen to get
// no answer at all, whichever request it was (making a bucket, the first
// heartbeat), and the set-up waited its whole timeout (2 s) before the
// next heartbeat tried again; a second attempt is answered at once. The
// requests are all idempotent.
func (n *Node) retried(ctx context.Context, op func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, n.cfg.Timeout/4)
		err := op(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// routeKey is the cluster's shared secret for requests one node routes
// to another: the first node makes it, the others read it.
func routeKey(ctx context.Context, kv jetstream.KeyValue) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	if _, err := kv.Create(ctx, routeKeyKey, []byte(hex.EncodeToString(b))); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return "", err
	}
	e, err := kv.Get(ctx, routeKeyKey)
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}

// reclaim asserts a hosted room's home again after a (re)connection: NATS
// may have restarted without it.
func (n *Node) reclaim(ctx context.Context, kv jetstream.KeyValue, r media.RoomID, c *claim) error {
	key := roomKey(r)
	rev, err := kv.Create(ctx, key, []byte(n.cfg.ID))
	if errors.Is(err, jetstream.ErrKeyExists) {
		var e jetstream.KeyValueEntry
		if e, err = kv.Get(ctx, key); err == nil {
			if home := string(e.Value()); home != n.cfg.ID {
				n.log.Error("a room hosted here is claimed by another node", "room", r, "home", home)
				return nil
			}
			rev = e.Revision()
		}
	}
	if err != nil {
		return err
	}
	n.mu.Lock()
	c.rev = rev
	n.mu.Unlock()
	return nil
}

// lost forgets the buckets until the node is set up again: the registry
// it heard of may be stale by then, and NATS may come back empty.
// The registry's watch ends at once too: left to itself, its consumer
// would try to come back on a NATS without its bucket and hold up the
// set-up's requests until they time out.
func (n *Node) lost() {
	n.mu.Lock()
	n.nodesKV, n.roomsKV = nil, nil
	if n.watching != nil {
		n.watching.cancel()
	}
	n.mu.Unlock()
}

// beatWithin is a heartbeat of the node's loop, within the timeout.
func (n *Node) beatWithin(kv jetstream.KeyValue) error {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
	defer cancel()
	return n.retried(ctx, func(ctx context.Context) error { return n.beat(ctx, kv) })
}

// beat reports the node's load into the registry bucket kv.
func (n *Node) beat(ctx context.Context, kv jetstream.KeyValue) error {
	l := n.cfg.Sample()
	info := NodeInfo{ID: n.cfg.ID, URL: n.cfg.PublicURL, Load: l, Stress: l.Stress(n.cfg.Targets), Unlimited: !l.counted(n.cfg.Targets), Draining: n.draining.Load(), Started: n.started}
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, n.cfg.ID, data); err != nil {
		return err
	}
	n.heard(info)
	return nil
}

// heard records a node's heartbeat; the joins sent to it before are in it.
func (n *Node) heard(info NodeInfo) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.peers[info.ID] = &peer{info: info, seen: time.Now()}
}

// watcher follows the registry bucket until stopped. Stopping does not
// wait: ending a watch deletes its consumer, a request that waits for
// NATS's timeout when NATS is away (Close waits for it, after closing the
// connection makes it fail at once).
type watcher struct{ cancel context.CancelFunc }

func (w *watcher) stop() {
	if w != nil {
		w.cancel()
	}
}

func (n *Node) watch(kv jetstream.KeyValue) (*watcher, error) {
	ctx, cancel := context.WithCancel(context.Background())
	kw, err := kv.WatchAll(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	// Routing trusts the registry only once it holds every node: until
	// then a living home would look gone.
	for synced := false; !synced; {
		select {
		case e, ok := <-kw.Updates():
			if !ok {
				cancel()
				n.wg.Go(func() { _ = kw.Stop() })
				return nil, fmt.Errorf("%w: the registry watch ended", ErrUnavailable)
			}
			if synced = e == nil; !synced {
				n.registryUpdate(e)
			}
		case <-time.After(n.cfg.Timeout):
			n.wg.Go(func() { _ = kw.Stop() })
			cancel()
			return nil, fmt.Errorf("%w: reading the registry timed out", ErrUnavailable)
		}
	}
	w := &watcher{cancel: cancel}
	n.wg.Go(func() {
		defer func() { _ = kw.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-kw.Updates():
				if !ok {
					return
				}
				if e != nil {
					n.registryUpdate(e)
				}
			}
		}
	})
	return w, nil
}

func (n *Node) registryUpdate(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		n.mu.Lock()
		delete(n.peers, e.Key())
		n.mu.Unlock()
		return
	}
	info, err := decodeNode(e)
	if err != nil {
		n.log.Warn("a registry entry that is no node", "key", e.Key(), "err", err)
		return
	}
	n.heard(info)
}

// decodeNode reads a registry entry.
func decodeNode(e jetstream.KeyValueEntry) (NodeInfo, error) {
	var info NodeInfo
	if err := json.Unmarshal(e.Value(), &info); err != nil {
		return NodeInfo{}, err
	}
	if info.ID != e.Key() {
		return NodeInfo{}, fmt.Errorf("entry %s describes node %q", e.Key(), info.ID)
	}
	return info, nil
}

// Nodes are the living nodes, by id.
func (n *Node) Nodes() []NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.liveLocked()
}

func (n *Node) liveLocked() []NodeInfo {
	var out []NodeInfo
	for _, p := range n.peers {
		if time.Since(p.seen) < n.cfg.NodeTTL {
			out = append(out, p.info)
		}
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Lookup returns a living node.
func (n *Node) Lookup(id string) (NodeInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.peers[id]; ok && time.Since(p.seen) < n.cfg.NodeTTL {
		return p.info, nil
	}
	if n.nodesKV == nil || !n.nc.IsConnected() {
		return NodeInfo{}, fmt.Errorf("%w: NATS is disconnected", ErrUnavailable)
	}
	return NodeInfo{}, fmt.Errorf("%w: %s", ErrUnknownNode, id)
}

// RouteKey is the cluster's shared secret that marks a request routed by
// one of its nodes ("" until the node is set up).
func (n *Node) RouteKey() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.routeKey
}

// Close leaves the cluster: the node's rooms leave the directory and its
// heartbeat the registry, so the others see it gone at once; then it
// disconnects and stops the in-process server.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	held := n.held
	n.held = map[media.RoomID]*claim{}
	nodes, rooms := n.nodesKV, n.roomsKV
	n.mu.Unlock()
	close(n.stop)
	_ = n.rpcSub.Unsubscribe()
	<-n.loopDone
	if nodes != nil && n.nc.IsConnected() {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
		for r, c := range held {
			_ = rooms.Delete(ctx, roomKey(r), jetstream.LastRevision(c.rev))
		}
		_ = nodes.Delete(ctx, n.cfg.ID)
		cancel()
	}
	// Closed first, so that what still waits for NATS fails at once.
	n.nc.Close()
	n.wg.Wait()
	n.stopEmbedded()
	return nil
}
