package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// natsServerEnv, when set (to "port storedir"), makes the test binary a
// NATS server instead: the cluster tests run the pinned nats-server
// module as a process of its own, which they can kill and start again.
const natsServerEnv = "MCU_TEST_NATS_SERVER"

// serveNATS runs a NATS server with JetStream until SIGTERM.
func serveNATS(spec string) int {
	portText, dir, _ := strings.Cut(spec, " ")
	port, err := strconv.Atoi(portText)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nats:", err)
		return 2
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, ServerName: "test"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nats:", err)
		return 1
	}
	ns.ConfigureLogger()
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		fmt.Fprintln(os.Stderr, "nats: not ready")
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	ns.Shutdown()
	ns.WaitForShutdown()
	return 0
}

// freePort is a TCP port on loopback that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a process a cluster test started; its output (read once it
// ended) is shown if the test fails.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
}

func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("--- %s's output:\n%s", name, p.out.String())
		}
	})
	return p
}

// kill signals the process and waits for it to end.
func (p *proc) kill(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	<-p.done
}

// natsProc is a NATS server process on a fixed port, so that it can be
// stopped and started again where the nodes look for it.
type natsProc struct {
	*proc
	port int
	dir  string
}

func startNATSProc(t *testing.T, port int, dir string) *natsProc {
	t.Helper()
	test, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n := &natsProc{proc: startProc(t, "nats", test, []string{natsServerEnv + "=" + strconv.Itoa(port) + " " + dir}), port: port, dir: dir}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", n.addr()); err == nil {
			c.Close()
			return n
		}
		if time.Now().After(deadline) {
			t.Fatal("NATS did not start")
		}
	}
}

func (n *natsProc) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }

// mcuNode is an mcu process of a test cluster.
type mcuNode struct {
	*proc
	id, url, admin string
	grpc           mcuv1.MCUClient
}

// startMCUNode starts the mcu binary as cluster node id on loopback.
// Admission counts participants only: the test's own clients load the
// machine.
func startMCUNode(t *testing.T, bin, id, natsURL string, extra ...string) *mcuNode {
	t.Helper()
	httpPort, grpcPort := freePort(t), freePort(t)
	adminPort := freePort(t)
	n := &mcuNode{id: id, url: "http://127.0.0.1:" + strconv.Itoa(httpPort), admin: "http://127.0.0.1:" + strconv.Itoa(adminPort)}
	args := append([]string{"-http", "127.0.0.1:" + strconv.Itoa(httpPort), "-grpc", "127.0.0.1:" + strconv.Itoa(grpcPort),
		"-admin-http", "127.0.0.1:" + strconv.Itoa(adminPort), "-interfaces", "lo", "-include-loopback", "true", "-join-rate", "0",
		"-drain-timeout", "0", "-log-level", "warn", "-cpu-target", "0", "-tick-target", "0",
		"-node-id", id, "-public-url", n.url, "-nats", natsURL}, extra...)
	n.proc = startProc(t, "mcu "+id, bin, nil, args...)
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(grpcPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	n.grpc = mcuv1.NewMCUClient(conn)
	return n
}

// nodes lists the node ids n's ListNodes answers with (nil on error).
func (n *mcuNode) nodes() []string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := n.grpc.ListNodes(ctx, &mcuv1.ListNodesRequest{})
	if err != nil {
		return nil
	}
	var ids []string
	for _, x := range res.GetNodes() {
		ids = append(ids, x.GetId())
	}
	return ids
}

// waitNodes waits until n lists exactly ids, and returns how long it took.
func (n *mcuNode) waitNodes(t *testing.T, within time.Duration, ids ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for !slices.Equal(n.nodes(), ids) {
		if time.Since(start) > within {
			t.Fatalf("node %s lists %v after %v, want %v", n.id, n.nodes(), within, ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// homeOf is the node a participant's ID names.
func homeOf(c *pionclient.Client) string {
	id := c.Location[strings.LastIndex(c.Location, "/")+1:]
	node, _, _ := strings.Cut(id, ".")
	return node
}

// clusterJoin joins room through node n and waits until connected.
func clusterJoin(t *testing.T, n *mcuNode, room string, hz float64) *pionclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pionclient.Join(ctx, pionclient.Options{BaseURL: n.url, Room: room, Name: fmt.Sprintf("%s-%g", n.id, hz), ToneHz: hz, ToneAmp: toneAmp})
	if err != nil {
		t.Fatalf("join %s through %s: %v", room, n.id, err)
	}
	t.Cleanup(c.Close)
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("join %s through %s: %v", room, n.id, err)
	}
	return c
}

const toneAmp = 8192

// TestCluster runs a NATS server and three mcu nodes as processes on
// loopback and checks what issue 19 promises: any node routes any
// request to the room's home, one home per room under concurrent first
// joins, admission by stress, media through a NATS outage, and a dead
// node's rooms re-created elsewhere.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a NATS server and three mcu processes")
	}
	bin := buildMCU(t)
	nats := startNATSProc(t, freePort(t), t.TempDir())
	natsURL := "nats://" + nats.addr()
	a := startMCUNode(t, bin, "a", natsURL)
	b := startMCUNode(t, bin, "b", natsURL, "-max-server-participants", "3")
	c := startMCUNode(t, bin, "c", natsURL)
	for _, n := range []*mcuNode{a, b, c} {
		n.waitNodes(t, 20*time.Second, "a", "b", "c")
	}

	t.Run("routed join, mix-minus, leave through a third node", func(t *testing.T) {
		host := clusterJoin(t, b, "routed", 440)
		guest := clusterJoin(t, a, "routed", 770)
		if homeOf(host) != "b" || homeOf(guest) != "b" {
			t.Fatalf("participants on %s and %s, want both on b", homeOf(host), homeOf(guest))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		for _, w := range []struct {
			c  *pionclient.Client
			hz float64
		}{{host, 770}, {guest, 440}} {
			if err := waitHearing(ctx, w.c, w.hz, toneAmp); err != nil {
				t.Fatal(err)
			}
		}
		from := time.Now()
		time.Sleep(time.Second)
		requireMixMinus(t, []*pionclient.Client{host, guest}, []float64{440, 770}, toneAmp, from, time.Now())

		// Listings of the room from any node are the home's.
		res, err := c.grpc.ListParticipants(ctx, &mcuv1.ListParticipantsRequest{RoomId: "routed"})
		if err != nil || len(res.GetParticipants()) != 2 {
			t.Fatalf("participants listed by c: %v %v", res, err)
		}
		// So is the page's event stream, routed to the home like joins.
		if snap := <-openEvents(t, c.url+"/rooms/routed/events", ""); snap.Name != "snapshot" || len(snap.Data.Participants) != 2 {
			t.Fatalf("event stream through c: %+v, want the home's snapshot of 2", snap)
		}
		rooms, err := a.grpc.ListRooms(ctx, &mcuv1.ListRoomsRequest{})
		if err != nil || len(rooms.GetRooms()) != 1 || rooms.GetRooms()[0].GetNode() != "b" {
			t.Fatalf("rooms listed by a: %v %v", rooms, err)
		}
		if code, body, _ := do(t, "DELETE", c.url+guest.Location, "", "", ""); code != http.StatusNoContent {
			t.Fatalf("leave through c: %d %s", code, body)
		}
		res, err = a.grpc.ListParticipants(ctx, &mcuv1.ListParticipantsRequest{RoomId: "routed"})
		if err != nil || len(res.GetParticipants()) != 1 {
			t.Fatalf("participants after the leave, listed by a: %v %v", res, err)
		}
		host.Close()
	})

	t.Run("admission and concurrent first joins", func(t *testing.T) {
		// b takes 3 participants: with 3 it is at stress 1.
		waitStress(t, a, "b", func(s float64) bool { return s == 0 })
		for range 3 {
			if l := clusterJoin(t, b, "full", 0); homeOf(l) != "b" {
				t.Fatalf("room full went to %s, want b (it was idle and took the join)", homeOf(l))
			}
		}
		waitStress(t, a, "b", func(s float64) bool { return s >= 0.95 })
		code, body, hdr := do(t, "POST", a.url+"/rooms/full/join", "", "application/sdp", recvOnlyOffer(t))
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "node b") {
			t.Fatalf("a join to the full node: %d %q (Retry-After %q)", code, body, hdr.Get("Retry-After"))
		}
		for i := range 3 {
			if l := clusterJoin(t, b, fmt.Sprint("new-", i), 0); homeOf(l) == "b" {
				t.Fatalf("a new room went to b, stressed past 0.85")
			}
		}

		// 20 first joins of one room at once, through all three nodes.
		nodes := []*mcuNode{a, b, c}
		clients := make([]*pionclient.Client, 20)
		errs := make([]error, 20)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				clients[i], errs[i] = pionclient.Join(ctx, pionclient.Options{BaseURL: nodes[i%3].url, Room: "crowd", Name: fmt.Sprint("p", i), RecvOnly: true})
				if errs[i] == nil {
					errs[i] = clients[i].WaitConnected(ctx)
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if clients[i] != nil {
				t.Cleanup(clients[i].Close)
			}
			if err != nil {
				t.Fatalf("join %d through %s: %v", i, nodes[i%3].id, err)
			}
		}
		for _, cl := range clients {
			if homeOf(cl) != homeOf(clients[0]) {
				t.Fatalf("participants of one room on %s and %s", homeOf(clients[0]), homeOf(cl))
			}
		}
		res, err := b.grpc.ListParticipants(ctx, &mcuv1.ListParticipantsRequest{RoomId: "crowd"})
		if err != nil || len(res.GetParticipants()) != 20 {
			t.Fatalf("crowd's participants listed by b: %d %v", len(res.GetParticipants()), err)
		}
		t.Logf("20 concurrent first joins: all on %s", homeOf(clients[0]))
		for _, cl := range clients {
			cl.Close()
		}
	})

	top := t // NATS started again belongs to the whole test
	t.Run("NATS stopped for 10 s", func(t *testing.T) {
		speaker := clusterJoin(t, a, "steady", 440)
		listener := clusterJoin(t, c, "steady", 770) // routed: its media goes straight to a
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := waitHearing(ctx, listener, 440, toneAmp); err != nil {
			t.Fatal(err)
		}
		from := time.Now()
		nats.kill(syscall.SIGKILL)
		time.Sleep(time.Second)
		// Routing needs NATS: a clear 503 with Retry-After. The room's
		// own node still serves it.
		code, body, hdr := do(t, "POST", c.url+"/rooms/steady/join", "", "application/sdp", recvOnlyOffer(t))
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "cluster unreachable") {
			t.Errorf("join routed during the outage: %d %q", code, body)
		}
		late := clusterJoin(t, a, "steady", 0)
		lateFrom := time.Now().Add(time.Second)
		time.Sleep(9 * time.Second)
		nats = startNATSProc(top, nats.port, nats.dir)
		back := time.Now()
		for _, n := range []*mcuNode{a, b, c} {
			took := n.waitNodes(t, 5*time.Second-time.Since(back), "a", "b", "c")
			t.Logf("%s lists every node %v after NATS restarted", n.id, took.Round(time.Millisecond))
		}
		to := time.Now()
		requireSteadyTone(t, listener, 440, from, to)
		requireSteadyTone(t, late, 440, lateFrom, to)
		// Routing is back, and the room's home was asserted again.
		if l := clusterJoin(t, b, "steady", 0); homeOf(l) != "a" {
			t.Errorf("a join through b after the outage went to %s, want a", homeOf(l))
		}
		speaker.Close()
	})

	t.Run("kill -9 of a node", func(t *testing.T) {
		waitStress(t, a, "b", func(s float64) bool { return s == 0 })
		doomed := clusterJoin(t, b, "doomed", 0)
		if homeOf(doomed) != "b" {
			t.Fatalf("room doomed went to %s, want b", homeOf(doomed))
		}
		killed := time.Now()
		b.kill(syscall.SIGKILL)
		for _, n := range []*mcuNode{a, c} {
			n.waitNodes(t, 6*time.Second-time.Since(killed), "a", "c")
			t.Logf("b gone from %s's list %v after kill -9", n.id, time.Since(killed).Round(time.Millisecond))
		}
		again := clusterJoin(t, c, "doomed", 0)
		if h := homeOf(again); h != "a" && h != "c" {
			t.Fatalf("room doomed re-created on %s", h)
		}
		t.Logf("room doomed re-created on %s %v after the kill", homeOf(again), time.Since(killed).Round(time.Millisecond))
	})
}

// waitStress waits until node id's stress, as n lists it, is ok.
func waitStress(t *testing.T, n *mcuNode, id string, ok func(float64) bool) {
	t.Helper()
	var last *mcuv1.Node
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		res, err := n.grpc.ListNodes(ctx, &mcuv1.ListNodesRequest{})
		cancel()
		if err != nil {
			continue
		}
		for _, x := range res.GetNodes() {
			if x.GetId() == id {
				if last = x; ok(x.GetStress()) {
					return
				}
			}
		}
	}
	t.Fatalf("node %s as %s lists it: %v", id, n.id, last)
}

// recvOnlyOffer is a complete offer (ICE gathered) for receiving audio.
func recvOnlyOffer(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		t.Fatal(err)
	}
	<-webrtc.GatheringCompletePromise(pc)
	return pc.LocalDescription().SDP
}

// requireSteadyTone fails unless every frame c received in [from, to)
// arrived, one tick after the other, and no 100 ms of them lost the tone
// (fell 20 dB below it: a machine this loaded may wobble a few dB, a tone
// that drops falls by 40 or more).
func requireSteadyTone(t *testing.T, c *pionclient.Client, hz float64, from, to time.Time) {
	t.Helper()
	var block []int16
	var prev uint32
	frames, missing, weak, weakest := 0, 0, 0, 0.0
	for _, f := range c.Frames() {
		if f.At.Before(from) || !f.At.Before(to) {
			continue
		}
		if frames > 0 && f.TS-prev != 960 {
			missing += int(int32(f.TS-prev)/960) - 1
		}
		prev = f.TS
		frames++
		if block = append(block, f.Samples...); len(block) >= 4800 {
			if l := toneLevel(block, hz, toneAmp); l < -20 {
				weak++
			}
			weakest = min(weakest, toneLevel(block, hz, toneAmp))
			block = block[:0]
		}
	}
	want := int(to.Sub(from) / (20 * time.Millisecond))
	t.Logf("over %v: %d frames of %d, %d missing, the weakest 100 ms at %+.1f dB", to.Sub(from).Round(time.Millisecond), frames, want, missing, weakest)
	if frames < want*95/100 || missing != 0 || weak != 0 {
		t.Errorf("the tone dropped: %d frames of %d, %d missing, %d blocks without it", frames, want, missing, weak)
	}
}

// TestClusterJoinLatency measures what routing adds to a join: 100 joins
// of a room hosted on b posted straight to b and 100 posted to a, in
// turn, with the same offer; the participants are removed at once. Set
// MCU_CLUSTER_FIGURES=1 to run it (about 30 s).
func TestClusterJoinLatency(t *testing.T) {
	if testing.Short() || os.Getenv("MCU_CLUSTER_FIGURES") == "" {
		t.Skip("figures for the cluster note: set MCU_CLUSTER_FIGURES=1")
	}
	bin := buildMCU(t)
	nats := startNATSProc(t, freePort(t), t.TempDir())
	a := startMCUNode(t, bin, "a", "nats://"+nats.addr())
	b := startMCUNode(t, bin, "b", "nats://"+nats.addr())
	a.waitNodes(t, 20*time.Second, "a", "b")
	b.waitNodes(t, 20*time.Second, "a", "b")
	clusterJoin(t, b, "timed", 440)
	offer := recvOnlyOffer(t)
	var direct, routed []time.Duration
	for i := range 200 {
		n := b
		if i%2 == 1 {
			n = a
		}
		start := time.Now()
		code, body, hdr := do(t, "POST", n.url+"/rooms/timed/join", "", "application/sdp", offer)
		took := time.Since(start)
		if code != http.StatusCreated {
			t.Fatalf("join %d through %s: %d %s", i, n.id, code, body)
		}
		if code, _, _ := do(t, "DELETE", n.url+hdr.Get("Location"), "", "", ""); code != http.StatusNoContent {
			t.Fatalf("leave %d: %d", i, code)
		}
		if n == b {
			direct = append(direct, took)
		} else {
			routed = append(routed, took)
		}
	}
	p := func(d []time.Duration, q float64) time.Duration {
		s := slices.Clone(d)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[int(q*float64(len(s)-1))].Round(10 * time.Microsecond)
	}
	t.Logf("join of a room on b, 100 each: direct p50 %v p95 %v; routed through a p50 %v p95 %v; added p50 %v",
		p(direct, 0.5), p(direct, 0.95), p(routed, 0.5), p(routed, 0.95), p(routed, 0.5)-p(direct, 0.5))
	// What a node exchanges with NATS with nothing happening but one
	// room (heartbeats, the registry watch), and per join routed.
	before := []float64{natsBytes(t, a), natsBytes(t, b)}
	time.Sleep(10 * time.Second)
	for i, n := range []*mcuNode{a, b} {
		t.Logf("node %s idle NATS traffic: %.0f B/s (in + out)", n.id, (natsBytes(t, n)-before[i])/10)
	}
	before = []float64{natsBytes(t, a), natsBytes(t, b)}
	for range 20 {
		_, _, hdr := do(t, "POST", a.url+"/rooms/timed/join", "", "application/sdp", offer)
		do(t, "DELETE", a.url+hdr.Get("Location"), "", "", "")
	}
	t.Logf("NATS traffic per routed join and leave (20, idle traffic included): a %.0f B, b %.0f B", (natsBytes(t, a)-before[0])/20, (natsBytes(t, b)-before[1])/20)
}

// natsBytes reads a node's NATS byte counters (received + sent) from its
// metrics.
func natsBytes(t *testing.T, n *mcuNode) float64 {
	t.Helper()
	s := &testServer{Admin: n.admin}
	return s.metric(t, "mcu_cluster_nats_received_bytes_total") + s.metric(t, "mcu_cluster_nats_sent_bytes_total")
}
