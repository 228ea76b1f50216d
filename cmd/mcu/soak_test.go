package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/bench/load"
	"github.com/mcu-project/mcu/codec/g711"
	"github.com/mcu-project/mcu/internal/testkit/cmem"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The soak's shape: soakCycles join/leave cycles over soakWorkers
// concurrent workers (a few minutes on two cores), after soakWarmup
// cycles that are not measured.
const (
	soakCycles  = 1000
	soakWorkers = 4
	// The warm-up pays what the first joins of each kind cost once and
	// keep: codec libraries' pages and tables, sync.Pools, malloc arenas,
	// the Go heap's high-water mark. Counted against the baseline, they
	// would read as a leak however many cycles followed.
	soakWarmup = 300 // twenty times through cyclePattern
	churnRoom  = "churn"
)

// cycleKind is what one churn cycle does.
type cycleKind int

const (
	cycleAudio        cycleKind = iota // a WebRTC join that talks, then leaves
	cycleVanish                        // the same, but closing without leaving (a closed tab)
	cycleVideo                         // the same with a camera, receiving the canvas
	cycleGarbageVideo                  // a camera whose payloads are random bytes
	cycleLeg                           // a plain-RTP leg that talks, then is deleted
	cycleGarbageLeg                    // a leg sent random datagrams and RTP of random payloads
	cycleAbandon                       // an offer posted whose answer is never used
	cycleKinds
)

var cycleNames = [cycleKinds]string{"audio", "vanished", "video", "garbage video", "leg", "garbage leg", "abandoned ICE"}

// cyclePattern is the churn's mix, repeated: mostly audio joins, a third
// abandoned halfway, the rest video, legs and garbage.
var cyclePattern = []cycleKind{
	cycleAudio, cycleAbandon, cycleAudio, cycleVideo, cycleAbandon,
	cycleLeg, cycleAudio, cycleAbandon, cycleGarbageVideo, cycleAudio,
	cycleAbandon, cycleGarbageLeg, cycleVanish, cycleAbandon, cycleAudio,
}

// TestSoak: 1,000 join/leave cycles of every kind (WebRTC audio and video,
// plain-RTP legs, garbage senders, clients that abandon ICE halfway or
// vanish without leaving) through the front door of an internet-facing
// server (tokens, the per-IP limit) while a three-person room keeps
// talking. Afterwards the process holds as many goroutines, open files
// and as much resident memory as before (within 5 %), the steady room
// never stopped hearing each other, the mixing clock's lateness p99
// stayed under 5 ms throughout, and the connect deadline dropped every
// abandoned join.
func TestSoak(t *testing.T) {
	if os.Getenv("MCU_SOAK") != "1" {
		t.Skip("a soak of a few minutes: run it with make soak (MCU_SOAK=1)")
	}
	began := time.Now()
	// A short connect deadline, so abandoned joins are dropped before
	// hundreds of them pile up; a per-IP limit that keeps its books
	// without ever refusing the churn's few dozen requests a second.
	s, a := authServer(t, allowLoopbackLegs, func(c *Config) {
		c.connectTimeout = time.Second
		c.JoinRate, c.JoinBurst = 1000, 1000
	})
	// The churn room stays when empty (created with options over gRPC),
	// so legs always find it; a small canvas keeps the video joins'
	// encoding from starving the two cores.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := dial(t, s).CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: churnRoom, Options: &mcuv1.RoomOptions{Width: 320, Height: 240, Fps: 15}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	steady := startSteadyRoom(t, s, a)
	ch := newChurn(s, a)
	defer ch.http.CloseIdleConnections()

	ch.run(t, soakWarmup)
	before := ch.quiet(t, nil)
	ticks0 := scrapeTicks(t, s)
	timeouts0 := s.metric(t, "mcu_connect_timeouts_total")
	ch.counts = [cycleKinds]int{}
	churnStart := time.Now()
	ch.run(t, soakCycles)
	churned := time.Since(churnStart)
	ticks1 := scrapeTicks(t, s)
	after := ch.quiet(t, &before)
	timeouts := s.metric(t, "mcu_connect_timeouts_total") - timeouts0
	windows, missing := steady.stop()
	ticks := ticks1.Since(ticks0)
	p99 := ticks.Quantile(0.99)

	var kinds []string
	for k, n := range ch.counts {
		kinds = append(kinds, fmt.Sprintf("%s %d", cycleNames[k], n))
	}
	t.Logf("soak: %d cycles in %v over %d workers (%s), %d failed; whole test %v",
		soakCycles, churned.Round(time.Second), soakWorkers, strings.Join(kinds, ", "), ch.failed.Load(), time.Since(began).Round(time.Second))
	t.Logf("%-12s %10s %10s %8s", "", "before", "after", "change")
	for _, row := range []struct {
		name          string
		before, after float64
		unit          string
	}{
		{"goroutines", float64(before.goroutines), float64(after.goroutines), ""},
		{"open fds", float64(before.fds), float64(after.fds), ""},
		{"RSS", float64(before.rss) / (1 << 20), float64(after.rss) / (1 << 20), " MiB"},
		{"Go heap", float64(before.goHeap) / (1 << 20), float64(after.goHeap) / (1 << 20), " MiB"},
		{"C heap", float64(before.cHeap) / (1 << 20), float64(after.cHeap) / (1 << 20), " MiB"},
	} {
		t.Logf("%-12s %10s %10s %+7.1f%%", row.name, strconv.FormatFloat(row.before, 'f', 1, 64)+row.unit,
			strconv.FormatFloat(row.after, 'f', 1, 64)+row.unit, 100*(row.after-row.before)/row.before)
	}
	t.Logf("steady room: %d of %d windows missing a tone", missing, windows)
	t.Logf("mix tick lateness over the churn: p50 %.2f ms, p99 %.2f ms over %v ticks (%v over 5 ms)",
		1000*ticks.Quantile(0.5), 1000*p99, ticks.Ticks, ticks.Late)
	t.Logf("connect timeouts over the churn: %v (abandoned joins: %d)", timeouts, ch.counts[cycleAbandon])

	if n := ch.failed.Load(); n > 0 {
		t.Errorf("%d cycles failed", n)
	}
	if !before.holds(after) {
		t.Errorf("the process did not return to its baseline: %+v before, %+v after", before, after)
	}
	if missing > 0 {
		t.Errorf("the steady room missed a tone in %d of %d windows", missing, windows)
	}
	if p99 >= 0.005 {
		t.Errorf("mix tick lateness p99 %.2f ms over the churn, want under 5 ms", 1000*p99)
	}
	if int(timeouts) != ch.counts[cycleAbandon] {
		t.Errorf("%v connect timeouts for %d abandoned joins", timeouts, ch.counts[cycleAbandon])
	}
}

// scrapeTicks reads the mix tick metrics off the admin listener.
func scrapeTicks(t *testing.T, s *testServer) load.TickScrape {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ticks, err := load.ScrapeTicks(ctx, s.Admin)
	if err != nil {
		t.Fatal(err)
	}
	return ticks
}

// footprint is what the process holds: server and clients alike, since
// both run in it. The live Go and C heaps are not held to the baseline
// (RSS is), but say where a change in RSS comes from.
type footprint struct {
	goroutines, fds    int
	rss, goHeap, cHeap int64 // bytes
}

// measure takes the footprint after a full collection that returns freed
// memory to the OS, the Go heap's and the C heap's (what the codecs
// freed), so RSS counts what is live rather than garbage or the
// allocators' high-water mark. With glibc's default of up to eight malloc
// arenas a core, the pages that the few live C allocations scattered
// over many arenas keep resident still vary by megabytes from run to run:
// make soak runs with one arena (GLIBC_TUNABLES), where what the trim
// leaves is a few hundred kilobytes.
func measure(t *testing.T) footprint {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	cmem.Trim()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var kb int64
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	if kb == 0 || err != nil {
		t.Fatalf("no VmRSS in /proc/self/status: %v", err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return footprint{goroutines: runtime.NumGoroutine(), fds: len(fds), rss: kb << 10, goHeap: int64(ms.HeapAlloc), cHeap: cmem.InUse()}
}

// holds reports whether now is back within 5 % of the baseline f. For
// counts, 5 % of a small baseline is under 3, less than the goroutine and
// socket of one HTTP connection the runtime or a client is still closing:
// those may differ by 3 whatever the baseline.
func (f footprint) holds(now footprint) bool {
	within := func(base, v, floor float64) bool { return math.Abs(v-base) <= max(0.05*base, floor) }
	return within(float64(f.goroutines), float64(now.goroutines), 3) && within(float64(f.fds), float64(now.fds), 3) &&
		within(float64(f.rss), float64(now.rss), 0)
}

// steadyTones are what the steady room's three participants send.
var steadyTones = []float64{440, 770, 1230}

const steadyAmp = 8192

// steadyRoom is three participants talking throughout the soak, each
// checking every 200 ms that it hears the other two.
type steadyRoom struct {
	clients          []*pionclient.Client
	quit, done       chan struct{}
	windows, missing int // owned by listen until done closes
}

// startSteadyRoom joins the room, waits until everyone hears everyone
// and the codecs settle, and starts listening.
func startSteadyRoom(t *testing.T, s *testServer, a *auth.Authority) *steadyRoom {
	t.Helper()
	r := &steadyRoom{quit: make(chan struct{}), done: make(chan struct{})}
	r.clients = joinAll(t, s, "steady", steadyTones, steadyAmp, func(o *pionclient.Options) {
		o.History = time.Second
		o.Token = mint(t, a, o.Room, o.Name, auth.DefaultGrants())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for i, c := range r.clients {
		for j, hz := range steadyTones {
			if j != i {
				if err := waitHearing(ctx, c, hz, steadyAmp); err != nil {
					t.Fatalf("steady %d: %v", i, err)
				}
			}
		}
	}
	time.Sleep(time.Second)
	go r.listen(t)
	t.Cleanup(func() { r.stop() })
	return r
}

// steadyWindow is how much audio each check looks at.
const steadyWindow = 200 * time.Millisecond

// listen checks each participant's last window for the other two tones:
// one more than 6 dB below what was sent is missing (a 100 ms block of
// the two lost entirely reads as -3 dB: a concealed frame or a late tick
// is not a dropout, half the window gone is).
func (r *steadyRoom) listen(t *testing.T) {
	defer close(r.done)
	tick := time.NewTicker(steadyWindow)
	defer tick.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-tick.C:
		}
		now := time.Now()
		for i, c := range r.clients {
			pcm := c.Received(now.Add(-steadyWindow), now)
			for j, hz := range steadyTones {
				if j == i {
					continue
				}
				r.windows++
				if level := toneLevel(pcm, hz, steadyAmp); level < -6 {
					r.missing++
					t.Logf("%s: steady %d hears %v Hz at %+.1f dB (%d samples)", now.Format("15:04:05.000"), i, hz, level, len(pcm))
				}
			}
		}
	}
}

// stop ends the listening and returns how many windows were checked and
// how many missed a tone.
func (r *steadyRoom) stop() (windows, missing int) {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
	return r.windows, r.missing
}

// churn runs join/leave cycles against the churn room.
type churn struct {
	s      *testServer
	auth   *auth.Authority // mints each cycle's token
	http   *http.Client    // its idle connections are closed before measuring
	mu     sync.Mutex
	counts [cycleKinds]int
	failed atomic.Int64
}

func newChurn(s *testServer, a *auth.Authority) *churn {
	return &churn{s: s, auth: a, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: soakWorkers}, Timeout: 20 * time.Second}}
}

// run does cycles cycles over soakWorkers workers and returns when all
// are done; a failed cycle is logged and counted, the others go on.
func (c *churn) run(t *testing.T, cycles int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range soakWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cycles {
					return
				}
				kind := cyclePattern[i%len(cyclePattern)]
				if err := c.cycle(kind, i); err != nil {
					if c.failed.Add(1) <= 10 {
						t.Logf("cycle %d (%s): %v", i, cycleNames[kind], err)
					}
				}
				c.mu.Lock()
				c.counts[kind]++
				c.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func (c *churn) cycle(kind cycleKind, i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Each cycle has its own identity: a second join with one replaces
	// the first.
	grants := auth.DefaultGrants()
	if kind == cycleLeg || kind == cycleGarbageLeg {
		grants = auth.Grants{Admin: true}
	}
	token, err := c.auth.Mint(auth.Claims{Identity: fmt.Sprint("c", i), Room: churnRoom, Grants: grants, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		return err
	}
	switch kind {
	case cycleAudio, cycleVanish:
		return c.join(ctx, token, nil, 200*time.Millisecond, kind == cycleAudio)
	case cycleVideo:
		return c.join(ctx, token, &pionclient.VideoOptions{Y: 150, U: 80, V: 200, Width: 160, Height: 120, Moving: true}, time.Second, true)
	case cycleGarbageVideo:
		return c.join(ctx, token, &pionclient.VideoOptions{Width: 160, Height: 120, Garbage: true}, 500*time.Millisecond, true)
	case cycleLeg, cycleGarbageLeg:
		return c.leg(ctx, token, kind == cycleGarbageLeg)
	case cycleAbandon:
		return c.abandon(ctx, token)
	}
	return fmt.Errorf("unknown cycle kind %d", kind)
}

// join joins the churn room over WebRTC (with a camera if video is set,
// then receiving the canvas too), talks for hold once connected, leaves if
// told to, and closes.
func (c *churn) join(ctx context.Context, token string, video *pionclient.VideoOptions, hold time.Duration, leave bool) error {
	cl, err := pionclient.Join(ctx, pionclient.Options{BaseURL: c.s.URL, Room: churnRoom, Token: token, ToneHz: 600,
		Video: video, RecvVideo: video != nil, CountVideoOnly: true, HTTP: c.http})
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.WaitConnected(ctx); err != nil {
		return err
	}
	time.Sleep(hold)
	if !leave {
		return nil
	}
	code, err := cl.Leave(ctx)
	if err == nil && code != http.StatusNoContent {
		err = fmt.Errorf("leave: %d", code)
	}
	return err
}

// leg attaches a plain-RTP leg toward a socket of its own, sends it 300 ms
// of µ-law tone (or, for garbage, of random datagrams and Opus packets of
// random bytes) and deletes it.
func (c *churn) leg(ctx context.Context, token string, garbage bool) error {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer conn.Close()
	codecName := "PCMU"
	if garbage {
		codecName = "opus"
	}
	body, _ := json.Marshal(map[string]string{"remote": conn.LocalAddr().String(), "codec": codecName})
	code, answer, err := c.request(ctx, http.MethodPost, "/rooms/"+churnRoom+"/rtp", token, "application/json", body)
	if err != nil {
		return err
	}
	var leg struct{ ID, Local string }
	if err := json.Unmarshal(answer, &leg); code != http.StatusCreated || err != nil {
		return fmt.Errorf("leg: %d %s", code, answer)
	}
	dst, err := net.ResolveUDPAddr("udp4", strings.Replace(leg.Local, "0.0.0.0", "127.0.0.1", 1))
	if err != nil {
		return err
	}
	payload := make([]byte, 160)
	for n := range 15 {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: uint32(n * 160), SSRC: 0x50a4}, Payload: payload}
		if garbage {
			pkt.PayloadType = 111
			pkt.Payload = payload[:rand.N(len(payload))+1]
			_, _ = crand.Read(pkt.Payload)
		} else {
			for k := range payload {
				payload[k] = g711.EncodeULaw(int16(8000 * math.Sin(2*math.Pi*500*float64(n*160+k)/8000)))
			}
		}
		b, _ := pkt.Marshal()
		if garbage && n%2 == 1 {
			b = b[:rand.N(len(b))] // not RTP: torn, or too short for a header
			_, _ = crand.Read(b)
		}
		if _, err := conn.WriteToUDP(b, dst); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, answer, err = c.request(ctx, http.MethodDelete, "/rooms/"+churnRoom+"/participants/"+leg.ID, token, "", nil)
	if err == nil && code != http.StatusNoContent {
		err = fmt.Errorf("delete leg: %d %s", code, answer)
	}
	return err
}

// abandon posts a real offer (loopback candidates) and closes the peer
// connection without taking the answer, as a client that goes away
// halfway through ICE: only the server's connect deadline removes it.
func (c *churn) abandon(ctx context.Context, token string) error {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	code, answer, err := c.request(ctx, http.MethodPost, "/rooms/"+churnRoom+"/join", token, "application/sdp", []byte(pc.LocalDescription().SDP))
	if err == nil && code != http.StatusCreated {
		err = fmt.Errorf("join: %d %s", code, answer)
	}
	return err
}

// request sends one request with a bearer token to the server and
// returns the status and body.
func (c *churn) request(ctx context.Context, method, path, token, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.s.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// quiet waits until the server is back to the steady room alone, then
// takes the footprint: at once for the baseline (base nil), or as soon as
// it holds against base (things still closing get up to 30 s), dumping
// the goroutines if it never does.
func (c *churn) quiet(t *testing.T, base *footprint) footprint {
	t.Helper()
	c.s.waitMetric(t, "mcu_participants", float64(len(steadyTones)), 30*time.Second)
	// The HTTP connections the test made hold a goroutine and a socket
	// on each side until closed.
	c.http.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(2 * time.Second)
	if base == nil {
		return measure(t)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		now := measure(t)
		if base.holds(now) {
			return now
		}
		if time.Now().After(deadline) {
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			return now
		}
		time.Sleep(time.Second)
	}
}
