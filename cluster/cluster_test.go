package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// Fast timings, so that expiry is seen in a fraction of a second.
const (
	testBeat = 50 * time.Millisecond
	testTTL  = 400 * time.Millisecond
)

// startNATS runs an in-process server with JetStream for the test.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{DontListen: true, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	require.NoError(t, err)
	ns.Start()
	require.True(t, ns.ReadyForConnections(5*time.Second))
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// fixedLoad is a node's load, settable by the test.
type fixedLoad struct {
	mu sync.Mutex
	l  Load
}

func (f *fixedLoad) sample() Load { f.mu.Lock(); defer f.mu.Unlock(); return f.l }
func (f *fixedLoad) set(l Load)   { f.mu.Lock(); defer f.mu.Unlock(); f.l = l }

// startNode joins a node to ns and waits until it is set up.
func startNode(t *testing.T, ns *server.Server, id string, mutate ...func(*Config)) (*Node, *fixedLoad) {
	t.Helper()
	load := &fixedLoad{}
	cfg := Config{ID: id, PublicURL: "http://" + id, Sample: load.sample, Heartbeat: testBeat, NodeTTL: testTTL, inProcess: ns, Logger: quiet}
	for _, f := range mutate {
		f(&cfg)
	}
	n, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	require.Eventually(t, n.Connected, 5*time.Second, 10*time.Millisecond, "node %s did not set up", id)
	return n, load
}

// waitNodes waits until n sees exactly ids.
func waitNodes(t *testing.T, n *Node, ids ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var got []string
		for _, i := range n.Nodes() {
			got = append(got, i.ID)
		}
		return fmt.Sprint(got) == fmt.Sprint(ids)
	}, 5*time.Second, 10*time.Millisecond, "node %s never saw %v (sees %v)", n.ID(), ids, n.Nodes())
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{ID: "", Sample: func() Load { return Load{} }},
		{ID: "a.b", Sample: func() Load { return Load{} }},
		{ID: "a"},
		{ID: "a", Sample: func() Load { return Load{} }, Targets: Targets{CPU: 2}},
	} {
		_, err := New(cfg)
		require.ErrorIs(t, err, ErrBadConfig, "%+v", cfg)
	}
}

// TestEmbedded: with no NATS URL the node runs its own in-process server
// and claims rooms through it like any cluster node.
func TestEmbedded(t *testing.T) {
	n, err := New(Config{ID: "solo", Sample: func() Load { return Load{} }, Heartbeat: testBeat, NodeTTL: testTTL, Logger: quiet})
	require.NoError(t, err)
	defer func() { require.NoError(t, n.Close()) }()
	require.Eventually(t, n.Connected, 5*time.Second, 10*time.Millisecond)
	home, err := n.Home(context.Background(), "r", true)
	require.NoError(t, err)
	require.Equal(t, "solo", home.ID)
	release, err := n.Claim("r")
	require.NoError(t, err)
	release()
	require.NotEmpty(t, n.RouteKey())
}

// TestClaim: one home per room; a release lets another node claim it, and
// a stale release never takes back a newer claim.
func TestClaim(t *testing.T) {
	ns := startNATS(t)
	a, _ := startNode(t, ns, "a")
	b, _ := startNode(t, ns, "b")
	waitNodes(t, a, "a", "b")
	waitNodes(t, b, "a", "b")

	relA, err := a.Claim("room~1")
	require.NoError(t, err)
	_, err = b.Claim("room~1")
	require.ErrorIs(t, err, ErrHomedElsewhere)
	home, err := b.Home(context.Background(), "room~1", false)
	require.NoError(t, err)
	require.Equal(t, "a", home.ID)
	require.Equal(t, "http://a", home.URL)

	// The room closes and opens again on a before the first release ran:
	// that release must leave the new claim alone.
	relA2, err := a.Claim("room~1")
	require.NoError(t, err)
	relA()
	home, err = b.Home(context.Background(), "room~1", false)
	require.NoError(t, err)
	require.Equal(t, "a", home.ID)

	relA2()
	require.Eventually(t, func() bool {
		_, err := b.Home(context.Background(), "room~1", false)
		return errors.Is(err, ErrNoRoom)
	}, 2*time.Second, 10*time.Millisecond)
	relB, err := b.Claim("room~1")
	require.NoError(t, err)
	relB()
}

// TestConcurrentFirstJoins: placements of one new room racing on three
// nodes all end at the same home.
func TestConcurrentFirstJoins(t *testing.T) {
	ns := startNATS(t)
	nodes := make([]*Node, 3)
	for i, id := range []string{"a", "b", "c"} {
		nodes[i], _ = startNode(t, ns, id)
	}
	for _, n := range nodes {
		waitNodes(t, n, "a", "b", "c")
	}
	for round := range 5 {
		room := media.RoomID(fmt.Sprintf("race-%d", round))
		homes := make([]string, 20)
		var wg sync.WaitGroup
		for i := range homes {
			wg.Go(func() {
				h, err := nodes[i%3].Home(context.Background(), room, true)
				if err == nil {
					homes[i] = h.ID
				} else {
					homes[i] = err.Error()
				}
			})
		}
		wg.Wait()
		for _, h := range homes {
			require.Equal(t, homes[0], h, "round %d: %v", round, homes)
		}
	}
}

// TestDeadHome: a node that stops reporting leaves the registry within
// its TTL, and its rooms are placed anew by compare-and-set.
func TestDeadHome(t *testing.T) {
	ns := startNATS(t)
	a, _ := startNode(t, ns, "a")
	b, bLoad := startNode(t, ns, "b")
	waitNodes(t, b, "a", "b")
	_, err := a.Claim("r")
	require.NoError(t, err)
	home, err := b.Home(context.Background(), "r", true)
	require.NoError(t, err)
	require.Equal(t, "a", home.ID)

	a.nc.Close() // as if its process died: no goodbye
	start := time.Now()
	waitNodes(t, b, "b")
	require.Less(t, time.Since(start), testTTL+5*testBeat)
	_, err = b.Home(context.Background(), "r", false)
	require.ErrorIs(t, err, ErrNoRoom)
	bLoad.set(Load{Participants: 1, Cap: 100})
	home, err = b.Home(context.Background(), "r", true)
	require.NoError(t, err)
	require.Equal(t, "b", home.ID)
	_, err = b.Claim("r")
	require.NoError(t, err)
}

// TestAdmission: new rooms avoid a node past RoomStressLimit and a
// draining one; joins are refused past JoinStressLimit, counting the
// joins sent since the node's last report.
func TestAdmission(t *testing.T) {
	ns := startNATS(t)
	a, _ := startNode(t, ns, "a")
	b, bLoad := startNode(t, ns, "b")
	c, cLoad := startNode(t, ns, "c")
	for _, n := range []*Node{a, b, c} {
		waitNodes(t, n, "a", "b", "c")
	}
	bLoad.set(Load{Participants: 9, Cap: 10})
	cLoad.set(Load{Participants: 2, Cap: 10})
	c.SetDraining(true)
	require.Eventually(t, func() bool { i, _ := a.Lookup("b"); return i.Stress >= 0.9 }, 2*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { i, _ := a.Lookup("c"); return i.Draining }, 2*time.Second, 10*time.Millisecond)
	for i := range 5 {
		home, err := b.Home(context.Background(), media.RoomID(fmt.Sprint("new-", i)), true)
		require.NoError(t, err)
		require.Equal(t, "a", home.ID, "b is loaded, c draining")
	}
	require.NoError(t, a.Admit("b"), "b at 0.9 takes one more")
	require.ErrorIs(t, a.Admit("b"), ErrOverloaded, "the join sent since its report counts")

	a.SetDraining(true)
	require.Eventually(t, func() bool { i, _ := b.Lookup("a"); return i.Draining }, 2*time.Second, 10*time.Millisecond)
	_, err := b.Home(context.Background(), "none", true)
	require.ErrorIs(t, err, ErrNoCapacity)
}

// TestUnlimitedAdmission: a node that counts neither CPU, tick lateness
// nor participants (the benchmarks' mcu) takes any burst of joins between
// two heartbeats; one that counts any of them does not (TestPlace: rooms).
func TestUnlimitedAdmission(t *testing.T) {
	ns := startNATS(t)
	a, _ := startNode(t, ns, "a")
	startNode(t, ns, "b", func(c *Config) { c.Targets.CPU = DefaultCPUTarget })
	waitNodes(t, a, "a", "b")
	require.Eventually(t, func() bool { i, _ := a.Lookup("a"); return i.Unlimited }, 2*time.Second, 10*time.Millisecond)
	info, err := a.Lookup("b")
	require.NoError(t, err)
	require.False(t, info.Unlimited, "b counts its CPU")
	admitted := 0
	for range 500 {
		if a.Admit("b") != nil {
			break
		}
		admitted++
	}
	require.Less(t, admitted, 500, "b's admission counts the joins sent since its report")
	for i := range 500 {
		require.NoError(t, a.Admit("a"), "join %d", i)
	}
}

func TestPlace(t *testing.T) {
	node := func(id string, stress float64, mutate ...func(*NodeInfo)) NodeInfo {
		n := NodeInfo{ID: id, Stress: stress}
		for _, f := range mutate {
			f(&n)
		}
		return n
	}
	draining := func(n *NodeInfo) { n.Draining = true }
	pending := func(k int) func(*NodeInfo) { return func(n *NodeInfo) { n.Pending = k } }
	unlimited := func(n *NodeInfo) { n.Unlimited = true }
	for _, tc := range []struct {
		name  string
		nodes []NodeInfo
		self  string
		want  string
	}{
		{"least stressed", []NodeInfo{node("a", 0.5), node("b", 0.2), node("c", 0.3)}, "x", "b"},
		{"self within the bias", []NodeInfo{node("a", 0.25), node("b", 0.2)}, "a", "a"},
		{"self beyond the bias", []NodeInfo{node("a", 0.35), node("b", 0.2)}, "a", "b"},
		{"self past the room limit", []NodeInfo{node("a", 0.86), node("b", 0.84)}, "a", "b"},
		{"draining", []NodeInfo{node("a", 0.1, draining), node("b", 0.6)}, "a", "b"},
		{"corrected by pending joins", []NodeInfo{node("a", 0.1, pending(30)), node("b", 0.3)}, "x", "b"},
		{"ties by id", []NodeInfo{node("b", 0.1), node("a", 0.1)}, "x", "a"},
		{"none", []NodeInfo{node("a", 0.9), node("b", 0.1, draining)}, "x", ""},
		{"unlimited past the room limit by pending joins", []NodeInfo{node("a", 0, unlimited, pending(200))}, "a", "a"},
		{"unlimited ordered by pending joins", []NodeInfo{node("a", 0, unlimited, pending(30)), node("b", 0, unlimited, pending(5))}, "x", "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := place(tc.nodes, tc.self)
			require.Equal(t, tc.want != "", ok)
			require.Equal(t, tc.want, got.ID)
		})
	}
}

func TestStress(t *testing.T) {
	defaults := Targets{CPU: DefaultCPUTarget, Tick: DefaultTickTarget}
	require.InDelta(t, 0.5, Load{CPU: 0.4}.Stress(defaults), 1e-9)
	require.InDelta(t, 2, Load{CPU: 0.4, TickP99: 10 * time.Millisecond}.Stress(defaults), 1e-9)
	require.InDelta(t, 0.75, Load{CPU: 0.4, Participants: 3, Cap: 4}.Stress(defaults), 1e-9)
	require.InDelta(t, 0, Load{Participants: 3}.Stress(defaults), 1e-9)
	require.InDelta(t, 0.75, Load{CPU: 0.9, TickP99: time.Second, Participants: 3, Cap: 4}.Stress(Targets{}), 1e-9, "targets off")
	require.InDelta(t, 0.25+0.5, NodeInfo{Stress: 0.25, Pending: 2, Load: Load{Cap: 4}}.CorrectedStress(), 1e-9)
}

// TestRequest: a request reaches the node's Serve; its errors come back
// with their code.
func TestRequest(t *testing.T) {
	ns := startNATS(t)
	a, _ := startNode(t, ns, "a")
	_, _ = startNode(t, ns, "b", func(c *Config) {
		c.Serve = func(_ context.Context, method string, body []byte) ([]byte, error) {
			if method == "fail" {
				return nil, &RemoteError{Code: 5, Message: "no " + string(body)}
			}
			return append([]byte(method+":"), body...), nil
		}
	})
	got, err := a.Request(context.Background(), "b", "echo", []byte("hi"))
	require.NoError(t, err)
	require.Equal(t, "echo:hi", string(got))
	_, err = a.Request(context.Background(), "b", "fail", []byte("room"))
	var re *RemoteError
	require.ErrorAs(t, err, &re)
	require.Equal(t, 5, re.Code)
	require.Equal(t, "no room", re.Message)
	_, err = a.Request(context.Background(), "nobody", "echo", nil)
	require.ErrorIs(t, err, ErrUnknownNode)
}

// TestEvents: another node's events arrive while watched, and only then.
func TestEvents(t *testing.T) {
	ns := startNATS(t)
	got := make(chan string, 10)
	a, _ := startNode(t, ns, "a", func(c *Config) { c.OnEvent = func(d []byte) { got <- string(d) } })
	b, _ := startNode(t, ns, "b")
	a.PublishEvent([]byte("own"))
	b.PublishEvent([]byte("unwatched"))
	require.NoError(t, b.nc.Flush())
	stop, err := a.WatchEvents()
	require.NoError(t, err)
	require.NoError(t, a.nc.Flush())
	a.PublishEvent([]byte("own"))
	b.PublishEvent([]byte("one"))
	select {
	case e := <-got:
		require.Equal(t, "one", e)
	case <-time.After(2 * time.Second):
		t.Fatal("no event")
	}
	stop()
	stop()
	require.NoError(t, a.nc.Flush())
	b.PublishEvent([]byte("after"))
	require.NoError(t, b.nc.Flush())
	select {
	case e := <-got:
		t.Fatalf("event %q after the watch stopped", e)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestCloseLeaves: a node that closes leaves the registry and its rooms
// the directory at once.
func TestCloseLeaves(t *testing.T) {
	ns := startNATS(t)
	a, err := New(Config{ID: "a", Sample: func() Load { return Load{} }, Heartbeat: testBeat, NodeTTL: 10 * time.Second, inProcess: ns, Logger: quiet})
	require.NoError(t, err)
	require.Eventually(t, a.Connected, 5*time.Second, 10*time.Millisecond)
	b, _ := startNode(t, ns, "b")
	waitNodes(t, b, "a", "b")
	_, err = a.Claim("r")
	require.NoError(t, err)
	require.NoError(t, a.Close())
	waitNodes(t, b, "b")
	_, err = b.Home(context.Background(), "r", false)
	require.ErrorIs(t, err, ErrNoRoom)
}

// TestNATSRestartsEmpty: a NATS that comes back without any state gets
// the nodes' registrations and their rooms' homes again at once.
func TestNATSRestartsEmpty(t *testing.T) {
	serve := func(port int) *server.Server {
		ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
		require.NoError(t, err)
		ns.Start()
		require.True(t, ns.ReadyForConnections(5*time.Second))
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		return ns
	}
	ns := serve(-1)
	port := ns.Addr().(*net.TCPAddr).Port
	start := func(id string) *Node {
		n, err := New(Config{ID: id, PublicURL: "http://" + id, NATS: []string{ns.ClientURL()}, Sample: func() Load { return Load{} },
			Heartbeat: testBeat, NodeTTL: testTTL, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, n.Close()) })
		return n
	}
	a, b := start("a"), start("b")
	waitNodes(t, b, "a", "b")
	_, err := a.Claim("kept")
	require.NoError(t, err)

	ns.Shutdown()
	ns.WaitForShutdown()
	require.Eventually(t, func() bool { return !a.Connected() && !b.Connected() }, 2*time.Second, 10*time.Millisecond)
	_, err = b.Home(context.Background(), "kept", false)
	require.ErrorIs(t, err, ErrUnavailable)
	_, err = b.Claim("new")
	require.ErrorIs(t, err, ErrUnavailable, "no claims without NATS: never two homes")

	serve(port)
	back := time.Now()
	require.Eventually(t, func() bool { return a.Connected() && b.Connected() }, 5*time.Second, 10*time.Millisecond, "the issue: back within 5 s")
	waitNodes(t, b, "a", "b")
	home, err := b.Home(context.Background(), "kept", false)
	require.NoError(t, err)
	require.Equal(t, "a", home.ID)
	t.Logf("registered and re-claimed %v after NATS came back", time.Since(back).Round(time.Millisecond))
}

// TestSweep: a directory entry whose home does not host the room (a
// first join refused there) or is gone is deleted after two sweeps; a
// hosted room's stays.
func TestSweep(t *testing.T) {
	ns := startNATS(t)
	fast := func(c *Config) { c.sweepEvery = 100 * time.Millisecond }
	a, _ := startNode(t, ns, "a", fast)
	b, _ := startNode(t, ns, "b", fast)
	waitNodes(t, a, "a", "b")
	waitNodes(t, b, "a", "b")
	_, err := b.Claim("hosted")
	require.NoError(t, err)
	placed, err := a.Home(context.Background(), "refused", true) // placed, never created
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := b.Home(context.Background(), "refused", false)
		return errors.Is(err, ErrNoRoom)
	}, 3*time.Second, 20*time.Millisecond, "the entry naming %s for a room it never made", placed.ID)
	home, err := a.Home(context.Background(), "hosted", false)
	require.NoError(t, err)
	require.Equal(t, "b", home.ID)
}

// TestReleaseWithoutNATS: a room that ends while NATS is away releases its
// home without touching the directory (there is none to touch), and the
// node goes on.
func TestReleaseWithoutNATS(t *testing.T) {
	ns := startNATS(t)
	n, _ := startNode(t, ns, "a")
	release, err := n.Claim("gone")
	require.NoError(t, err)
	ns.Shutdown()
	ns.WaitForShutdown()
	require.Eventually(t, func() bool { return !n.Connected() }, 2*time.Second, 10*time.Millisecond)
	release()
	_, err = n.Claim("another")
	require.ErrorIs(t, err, ErrUnavailable, "no claims without NATS")
}
