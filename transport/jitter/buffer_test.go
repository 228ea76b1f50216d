package jitter

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"default", nil, true},
		{"zero optional fields take defaults", func(c *Config) { c.ResyncPackets, c.ResyncTransit, c.ShrinkAfter = 0, 0, 0 }, true},
		{"zero min delay", func(c *Config) { c.MinDelay = 0 }, true},
		{"clock rate zero", func(c *Config) { c.ClockRate = 0 }, false},
		{"clock rate huge", func(c *Config) { c.ClockRate = 2_000_000 }, false},
		{"negative min delay", func(c *Config) { c.MinDelay = -ms }, false},
		{"max below min", func(c *Config) { c.MinDelay, c.MaxDelay = 50*ms, 40*ms }, false},
		{"zero max delay", func(c *Config) { c.MinDelay, c.MaxDelay = 0, 0 }, false},
		{"one packet", func(c *Config) { c.MaxPackets = 1 }, false},
		{"too many packets", func(c *Config) { c.MaxPackets = 5000 }, false},
		{"resync below window", func(c *Config) { c.ResyncPackets = 10 }, false},
		{"resync too far", func(c *Config) { c.ResyncPackets = 40000 }, false},
		{"resync transit below max delay", func(c *Config) { c.ResyncTransit = 50 * ms }, false},
		{"negative shrink", func(c *Config) { c.ShrinkAfter = -1 }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(cfgWith(tc.mod))
			if tc.ok {
				if err != nil || b == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || b != nil {
				t.Fatalf("New = %v, %v; want ErrInvalidConfig", b, err)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for v, want := range map[Status]string{StatusUnknown: "unknown", Packet: "packet", Lost: "lost", Empty: "empty", 99: "unknown"} {
		if v.String() != want {
			t.Errorf("Status(%d) = %q, want %q", v, v.String(), want)
		}
	}
	for v, want := range map[PushResult]string{PushUnknown: "unknown", Accepted: "accepted", Duplicate: "duplicate", Late: "late", Overflow: "overflow", Resynced: "resynced", 99: "unknown"} {
		if v.String() != want {
			t.Errorf("PushResult(%d) = %q, want %q", v, v.String(), want)
		}
	}
}

func TestInOrder(t *testing.T) {
	cases := []struct {
		name     string
		frame    time.Duration // packet duration
		popEvery time.Duration // the caller pops whenever it needs a packet's worth of audio
		phase    time.Duration // pop phase relative to arrivals
		seq      uint16
		ts       uint32
	}{
		{"20ms", 20 * ms, 20 * ms, 10 * ms, 1000, 5000},
		{"20ms pops right after arrival", 20 * ms, 20 * ms, 0, 1, 0},
		{"20ms pops just before arrival", 20 * ms, 20 * ms, 19 * ms, 1, 0},
		{"10ms", 10 * ms, 10 * ms, 5 * ms, 7, 1 << 31},
		{"40ms", 40 * ms, 40 * ms, 10 * ms, 300, 123},
		{"60ms", 60 * ms, 60 * ms, 10 * ms, 300, 123},
		{"seq and ts wraparound", 20 * ms, 20 * ms, 10 * ms, 65500, 1<<32 - 960*50},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const n = 300
			b := mustNew(t, DefaultConfig())
			r := simulate(t, b, stream(tc.seq, tc.ts, n, tc.frame, nominal(tc.frame, 0)), tc.phase, tc.popEvery, time.Duration(n)*tc.frame+time.Second)
			if got, want := r.played(), seqRange(tc.seq, n); !slices.Equal(got, want) {
				t.Fatalf("played %v\nwant %v", got, want)
			}
			if s := r.stats; s.Lost != 0 || s.LostPops != 0 || s.Underruns != 1 || s.Played != n || s.Waits != 0 {
				t.Fatalf("stats %+v", s)
			}
			// Playout starts within one pop of the first packet and
			// the target delay stays at one packet.
			first := slices.IndexFunc(r.events, func(e event) bool { return e.status == Packet })
			if r.events[first].at > tc.popEvery {
				t.Fatalf("first packet played at %v", r.events[first].at)
			}
			if want := max(tc.frame, DefaultMinDelay); r.maxDly != want {
				t.Fatalf("target delay reached %v, want %v", r.maxDly, want)
			}
			if fd := r.stats.FrameDuration; fd != tc.frame {
				t.Fatalf("frame duration %v, want %v", fd, tc.frame)
			}
		})
	}
}

func TestReorder(t *testing.T) {
	const n = 400
	swapPairs := func(i int) time.Duration { // 1,0,3,2,...: the even one comes 1 ms after its successor
		if i%2 == 0 {
			return time.Duration(i+1)*20*ms + ms
		}
		return time.Duration(i) * 20 * ms
	}
	reverse4 := func(i int) time.Duration { // bursts of 4 delivered newest first
		burst := i / 4
		return time.Duration(burst*4+3)*20*ms + time.Duration(3-i%4)*ms/2
	}
	cases := []struct {
		name    string
		cfg     Config
		arrival func(int) time.Duration
		seq     uint16
		maxLost uint64
	}{
		{"swap pairs within min delay", cfgWith(func(c *Config) { c.MinDelay = 60 * ms }), swapPairs, 10, 0},
		{"swap pairs across wraparound", cfgWith(func(c *Config) { c.MinDelay = 60 * ms }), swapPairs, 65400, 0},
		{"reverse bursts of 4 within min delay", cfgWith(func(c *Config) { c.MinDelay = 100 * ms }), reverse4, 10, 0},
		// The adaptive buffer learns the reordering after the first
		// pair or two.
		{"swap pairs adaptive", DefaultConfig(), swapPairs, 10, 2},
		{"reverse bursts of 4 adaptive", DefaultConfig(), reverse4, 65530, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustNew(t, tc.cfg)
			r := simulate(t, b, stream(tc.seq, 0, n, 20*ms, tc.arrival), 10*ms, 20*ms, n*20*ms+time.Second)
			checkOrder(t, r.events)
			s := r.stats
			// Shrinking may take back the extra frame the first playout
			// waited, once the estimate has had a second to settle.
			if s.Lost > tc.maxLost || s.Lost != s.Late || s.DroppedShrink > 1 || s.Played+s.Lost+s.DroppedShrink != n {
				t.Fatalf("lost %d (max %d), late %d, played %d; stats %+v", s.Lost, tc.maxLost, s.Late, s.Played, s)
			}
			if tc.maxLost == 0 {
				played, want := r.played(), seqRange(tc.seq, n)
				if s.DroppedShrink == 1 {
					for i, seq := range want { // the one dropped: the first gap
						if i == len(played) || played[i] != seq {
							want = slices.Delete(want, i, i+1)
							break
						}
					}
				}
				if !slices.Equal(played, want) {
					t.Fatalf("played %v", played)
				}
			}
			// After the first second everything plays.
			for _, e := range r.lost() {
				if e.at > time.Second {
					t.Fatalf("lost %d at %v", e.seq, e.at)
				}
			}
		})
	}
}

func TestDuplicatesAndLate(t *testing.T) {
	const n = 200
	cases := []struct {
		name      string
		cfg       Config
		pkts      func() []pkt
		dups      uint64
		late      uint64
		lost      []uint16
		notPlayed []uint16
	}{
		{
			name: "every packet twice at once",
			cfg:  DefaultConfig(),
			pkts: func() []pkt {
				p := stream(0, 0, n, 20*ms, nominal(20*ms, 0))
				return append(p, p...) // stable sort keeps copies after originals
			},
			dups: n,
		},
		{
			name: "every packet again 100ms later (after it was played)",
			cfg:  DefaultConfig(),
			pkts: func() []pkt {
				p := stream(0, 0, n, 20*ms, nominal(20*ms, 0))
				q := stream(0, 0, n, 20*ms, nominal(20*ms, 100*ms))
				return append(p, q...)
			},
			dups: n,
		},
		{
			name: "one packet arrives after it was declared lost",
			cfg:  DefaultConfig(),
			pkts: func() []pkt {
				p := stream(0, 0, n, 20*ms, nominal(20*ms, 0))
				p[50].at += 300 * ms
				return p
			},
			late:      1,
			lost:      []uint16{50},
			notPlayed: []uint16{50},
		},
		{
			name: "late packet then its duplicate",
			cfg:  DefaultConfig(),
			pkts: func() []pkt {
				p := stream(0, 0, n, 20*ms, nominal(20*ms, 0))
				p[50].at += 300 * ms
				d := p[50]
				d.at += ms
				return append(p, d)
			},
			late:      2, // never played, so the copy is late too
			lost:      []uint16{50},
			notPlayed: []uint16{50},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustNew(t, tc.cfg)
			r := simulate(t, b, tc.pkts(), 10*ms, 20*ms, n*20*ms+time.Second)
			checkOrder(t, r.events)
			s := r.stats
			if s.Duplicates != tc.dups || s.Late != tc.late {
				t.Fatalf("duplicates %d late %d, want %d %d", s.Duplicates, s.Late, tc.dups, tc.late)
			}
			var lost []uint16
			for _, e := range r.lost() {
				lost = append(lost, e.seq)
			}
			if !slices.Equal(lost, tc.lost) {
				t.Fatalf("lost %v, want %v", lost, tc.lost)
			}
			var want []uint16
			for _, q := range seqRange(0, n) {
				if !slices.Contains(tc.notPlayed, q) {
					want = append(want, q)
				}
			}
			if got := r.played(); !slices.Equal(got, want) {
				t.Fatalf("played %v\nwant %v", got, want)
			}
			if d := slices.Index(r.pushes, Duplicate); tc.dups > 0 && d < 0 {
				t.Fatal("no Duplicate push result")
			}
		})
	}
}

func TestLoss(t *testing.T) {
	const n = 200
	type lostEv struct {
		seq  uint16
		next int
	}
	deep := cfgWith(func(c *Config) { c.MinDelay = 100 * ms })
	cases := []struct {
		name  string
		cfg   Config
		seq   uint16
		drop  []int // indexes of dropped packets
		want  []lostEv
		stats uint64 // Stats.Lost
	}{
		{"single loss", DefaultConfig(), 0, []int{50}, []lostEv{{50, 51}}, 1},
		{"single loss deep buffer", deep, 0, []int{50}, []lostEv{{50, 51}}, 1},
		{"single loss at wraparound", DefaultConfig(), 65500, []int{36}, []lostEv{{0, 1}}, 1},
		{"burst of 3 deep buffer", deep, 0, []int{50, 51, 52}, []lostEv{{50, -1}, {51, -1}, {52, 53}}, 3},
		{"two single losses", deep, 65530, []int{3, 10}, []lostEv{{65533, 65534}, {4, 5}}, 2},
		// With less than a packet of buffering a burst underruns
		// first. The gap the next packet reveals switches the buffer to
		// its cushioned playout for FEC, so each missing packet is
		// reported, the last with FEC data; the room skips the ones
		// the stall's Empty pops already concealed.
		{"burst of 3 shallow buffer", DefaultConfig(), 0, []int{50, 51, 52}, []lostEv{{50, -1}, {51, -1}, {52, 53}}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var pkts []pkt
			var want []uint16
			for i, p := range stream(tc.seq, 0, n, 20*ms, nominal(20*ms, 0)) {
				if slices.Contains(tc.drop, i) {
					continue
				}
				pkts = append(pkts, p)
				want = append(want, p.seq)
			}
			b := mustNew(t, tc.cfg)
			r := simulate(t, b, pkts, 10*ms, 20*ms, n*20*ms+time.Second)
			checkOrder(t, r.events)
			var got []lostEv
			for _, e := range r.lost() {
				got = append(got, lostEv{e.seq, e.next})
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("lost %v, want %v", got, tc.want)
			}
			if !slices.Equal(r.played(), want) {
				t.Fatalf("played %v\nwant %v", r.played(), want)
			}
			if r.stats.Lost != tc.stats {
				t.Fatalf("Stats.Lost %d, want %d", r.stats.Lost, tc.stats)
			}
		})
	}
}

func TestAdaptiveDelay(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	uniform := func(j time.Duration) func(int) time.Duration {
		return func(i int) time.Duration {
			return time.Duration(i)*20*ms + j + time.Duration(rng.Int64N(int64(2*j+1))) - j
		}
	}

	t.Run("no jitter stays at MinDelay", func(t *testing.T) {
		b := mustNew(t, DefaultConfig())
		r := simulate(t, b, stream(0, 0, 500, 20*ms, nominal(20*ms, 7*ms)), 0, 20*ms, 10*time.Second)
		if r.maxDly != DefaultMinDelay {
			t.Fatalf("max target %v", r.maxDly)
		}
	})
	t.Run("network noise of 1ms stays near MinDelay", func(t *testing.T) {
		b := mustNew(t, DefaultConfig())
		r := simulate(t, b, stream(0, 0, 500, 20*ms, uniform(ms/2)), 0, 20*ms, 10*time.Second)
		if r.maxDly > DefaultMinDelay+2*ms {
			t.Fatalf("max target %v", r.maxDly)
		}
	})

	t.Run("30ms jitter grows, plays cleanly, then decays", func(t *testing.T) {
		const jittery, calm = 3000, 2000 // 60 s of ±30 ms, then 40 s without jitter
		arr := uniform(30 * ms)
		pkts := stream(0, 0, jittery+calm, 20*ms, func(i int) time.Duration {
			if i < jittery {
				return arr(i)
			}
			return time.Duration(i)*20*ms + 30*ms
		})
		b := mustNew(t, DefaultConfig())
		r := simulate(t, b, pkts, 3*ms, 20*ms, (jittery+calm)*20*ms+time.Second)
		checkOrder(t, r.events)
		var peak time.Duration
		var lostLater, emptyLater int
		for _, e := range r.events {
			if e.at < jittery*20*ms {
				peak = max(peak, e.delay)
			}
			if e.at > 2*time.Second && e.at < (jittery+calm)*20*ms {
				switch e.status {
				case Lost:
					lostLater++
				case Empty:
					emptyLater++
				}
			}
		}
		t.Logf("peak target %v, final %v, stats %+v, lost/empty after 2s: %d/%d", peak, r.lastDly, r.stats, lostLater, emptyLater)
		if peak < 60*ms || r.maxDly > DefaultMaxDelay {
			t.Fatalf("target peaked at %v (max %v)", peak, r.maxDly)
		}
		if r.stats.Lost > 15 || r.stats.Underruns > 6 {
			t.Fatalf("lost %d underruns %d", r.stats.Lost, r.stats.Underruns)
		}
		if lostLater > 5 || emptyLater > 5 {
			t.Fatalf("after the first 2 s: %d lost, %d empty", lostLater, emptyLater)
		}
		if r.lastDly > DefaultMinDelay+5*ms {
			t.Fatalf("target did not decay: %v", r.lastDly)
		}
		// The latency came down with the target.
		if r.stats.DroppedShrink == 0 {
			t.Fatal("no packets dropped to shrink latency")
		}
	})

	t.Run("target converges up fast", func(t *testing.T) {
		b := mustNew(t, DefaultConfig())
		r := simulate(t, b, stream(0, 0, 100, 20*ms, uniform(30*ms)), 3*ms, 20*ms, time.Second)
		if r.lastDly < 60*ms {
			t.Fatalf("target after 1 s of ±30 ms jitter: %v", r.lastDly)
		}
	})

	t.Run("huge jitter is capped at MaxDelay", func(t *testing.T) {
		b := mustNew(t, DefaultConfig())
		r := simulate(t, b, stream(0, 0, 1000, 20*ms, uniform(300*ms)), 3*ms, 20*ms, 21*time.Second)
		checkOrder(t, r.events)
		if r.maxDly != DefaultMaxDelay {
			t.Fatalf("max target %v", r.maxDly)
		}
		// Packets older than the one playout started with are late but
		// not lost; everything after it is played or declared lost.
		if s := r.stats; s.Played+s.Lost < 990 || s.Played+s.Lost > 1000 || s.Depth != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestResync(t *testing.T) {
	cases := []struct {
		name      string
		jumpSeq   uint16 // added to seq at packet 100
		jumpTs    uint32
		pause     time.Duration // arrival gap at the jump
		resyncs   uint64
		maxLost   uint64
		maxLostEv uint64
	}{
		{"seq and ts jump (sender restart)", 5000, 5000 * 960 * 7, 0, 1, 0, 0},
		{"backward seq jump", 60000, 12345, 0, 1, 0, 0},
		{"timestamp jump only", 0, 48000 * 60, 0, 1, 0, 0},
		{"timestamp jump backwards only", 0, 1<<32 - 48000*60, 0, 1, 0, 0},
		{"silence with continuous seq is no jump", 0, 48000 * 60, 60 * time.Second, 0, 0, 0},
		// 300 packets lost over a 6 s outage: below ResyncPackets, so
		// no resync, but not 300 Lost results either.
		{"6 s outage", 300, 300 * 960, 6 * time.Second, 0, 300, 2},
		// 40 packets lost over 0.8 s (inside the MaxPackets window): the
		// Empty pops already concealed the outage, so one Lost (with
		// FEC data, plus one more for the FEC cushion the gap switches
		// on) stands for the gap instead of 0.8 s of extra delay.
		{"0.8 s outage", 40, 40 * 960, 800 * ms, 0, 40, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const n = 200
			pkts := stream(100, 0, n, 20*ms, nominal(20*ms, 0))
			for i := 100; i < n; i++ {
				pkts[i].seq += tc.jumpSeq
				pkts[i].ts += tc.jumpTs
				pkts[i].at += tc.pause
			}
			b := mustNew(t, DefaultConfig())
			r := simulate(t, b, pkts, 10*ms, 20*ms, n*20*ms+tc.pause+time.Second)
			s := r.stats
			if s.Resyncs != tc.resyncs || s.Lost > tc.maxLost || s.LostPops > tc.maxLostEv {
				t.Fatalf("stats %+v", s)
			}
			// Every packet after the jump plays, in order.
			var after []uint16
			for _, p := range pkts[100:] {
				after = append(after, p.seq)
			}
			got := r.played()
			if i := slices.Index(got, after[0]); i < 0 || !slices.Equal(got[i:], after) {
				t.Fatalf("played %v", got)
			}
			if s.Played < n-2 {
				t.Fatalf("played %d of %d", s.Played, n)
			}
		})
	}
}

func TestMemoryBound(t *testing.T) {
	cfg := cfgWith(func(c *Config) { c.MaxPackets = 16 })
	b := mustNew(t, cfg)
	for i := range 100 {
		res := b.Push(uint16(i), uint32(i*960), payloadFor(uint16(i)), t0.Add(time.Duration(i)*ms))
		want := Accepted
		if i >= 16 {
			want = Overflow
		}
		if res != want {
			t.Fatalf("push %d: %v, want %v", i, res, want)
		}
		if d := b.Stats().Depth; d > 16 {
			t.Fatalf("depth %d", d)
		}
	}
	if len(b.slots) != 16 {
		t.Fatalf("%d slots", len(b.slots))
	}
	if s := b.Stats(); s.DroppedOverflow != 84 || s.Depth != 16 {
		t.Fatalf("stats %+v", s)
	}
	// The newest 16 play, in order.
	var got []uint16
	for i := range 40 {
		r := b.Pop(t0.Add(100*ms + time.Duration(i)*20*ms))
		if r.Status == Packet {
			got = append(got, r.Seq)
		}
	}
	if want := seqRange(84, 16); !slices.Equal(got, want) {
		t.Fatalf("played %v", got)
	}
	// An older packet is late now.
	if res := b.Push(20, 20*960, nil, t0.Add(time.Second)); res != Late {
		t.Fatalf("old packet: %v", res)
	}
}

func TestShrink(t *testing.T) {
	cases := []struct {
		name    string
		arrival func(i int) time.Duration
		n       int
	}{
		// The network holds 500 ms of packets, then delivers them at once.
		{"burst after stall", func(i int) time.Duration {
			if i >= 200 && i < 225 {
				return 225 * 20 * ms
			}
			return time.Duration(i) * 20 * ms
		}, 1000},
		// The sender's clock runs 1% fast.
		{"clock drift", func(i int) time.Duration { return time.Duration(i) * 19800 * time.Microsecond }, 5000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustNew(t, DefaultConfig())
			pkts := stream(0, 0, tc.n, 20*ms, tc.arrival)
			end := tc.arrival(tc.n - 1)
			r := simulate(t, b, pkts[:tc.n-1], 10*ms, 20*ms, end-ms)
			checkOrder(t, r.events)
			s := r.stats
			t.Logf("stats %+v", s)
			if s.DroppedShrink == 0 {
				t.Fatal("nothing dropped")
			}
			if s.Buffered > s.Target+2*s.FrameDuration {
				t.Fatalf("buffered %v with target %v", s.Buffered, s.Target)
			}
			if s.Played+s.DroppedShrink+uint64(s.Depth) != uint64(tc.n-1) || s.Lost != 0 {
				t.Fatalf("packets unaccounted for: %+v", s)
			}
		})
	}
}

func TestPayloadOwnership(t *testing.T) {
	b := mustNew(t, DefaultConfig())
	p := []byte{1, 2, 3}
	b.Push(10, 0, p, t0)
	p[0] = 9 // Push copied it
	r := b.Pop(t0.Add(ms))
	if r.Status != Packet || !bytes.Equal(r.Payload, []byte{1, 2, 3}) {
		t.Fatalf("pop %+v", r)
	}
	// Payload survives later Pushes (only the next Pop reuses it).
	for i := range 100 {
		b.Push(uint16(11+i), uint32((1+i)*960), []byte{7, 7, 7, 7}, t0.Add(time.Duration(i)*ms))
	}
	if !bytes.Equal(r.Payload, []byte{1, 2, 3}) {
		t.Fatalf("payload overwritten by Push: %v", r.Payload)
	}
}

func TestReset(t *testing.T) {
	b := mustNew(t, DefaultConfig())
	r := simulate(t, b, stream(1000, 0, 50, 20*ms, nominal(20*ms, 0)), 10*ms, 20*ms, 500*ms)
	b.Push(1025, 25*960, nil, t0.Add(500*ms))
	r.stats = b.Stats()
	if r.stats.Depth == 0 || r.stats.Played == 0 {
		t.Fatalf("stats %+v", r.stats)
	}
	b.Reset()
	if s := b.Stats(); s.Depth != 0 || s.DroppedResync == 0 || s.Played != r.stats.Played || s.Target != DefaultMinDelay {
		t.Fatalf("after reset %+v", s)
	}
	if got := b.Pop(t0.Add(time.Second)); got.Status != Empty {
		t.Fatalf("pop after reset: %+v", got)
	}
	// A new stream with lower sequence numbers is not late.
	r = simulate(t, b, stream(5, 777, 50, 20*ms, nominal(20*ms, 2*time.Second)), 2*time.Second+10*ms, 20*ms, 4*time.Second)
	if got := r.played(); !slices.Equal(got, seqRange(5, 50)) {
		t.Fatalf("played %v", got)
	}
}

func TestEmptyBeforeStream(t *testing.T) {
	b := mustNew(t, DefaultConfig())
	for i := range 3 {
		if r := b.Pop(t0.Add(time.Duration(i) * 20 * ms)); r.Status != Empty || r.Payload != nil {
			t.Fatalf("pop %+v", r)
		}
	}
	if b.Delay() != DefaultMinDelay {
		t.Fatalf("delay %v", b.Delay())
	}
}

func TestZeroAllocs(t *testing.T) {
	b := mustNew(t, DefaultConfig())
	payload := make([]byte, 160)
	seq, now := uint16(0), t0
	step := func() {
		b.Push(seq, uint32(seq)*960, payload, now)
		b.Pop(now.Add(5 * ms))
		seq++
		now = now.Add(20 * ms)
	}
	for range 3 * DefaultMaxPackets {
		step()
	}
	if a := testing.AllocsPerRun(1000, step); a != 0 {
		t.Fatalf("%v allocs per Push+Pop", a)
	}
	// Also with a loss (FEC copy) and reordering in the loop.
	rstep := func() {
		b.Push(seq+1, uint32(seq+1)*960, payload, now)
		b.Push(seq, uint32(seq)*960, payload, now.Add(ms))
		b.Pop(now.Add(5 * ms))
		b.Pop(now.Add(25 * ms))
		b.Push(seq+3, uint32(seq+3)*960, payload, now.Add(40*ms))
		b.Pop(now.Add(45 * ms))
		b.Pop(now.Add(65 * ms))
		seq += 4
		now = now.Add(80 * ms)
	}
	for range DefaultMaxPackets {
		rstep()
	}
	if a := testing.AllocsPerRun(500, rstep); a != 0 {
		t.Fatalf("%v allocs per reordered step", a)
	}
}

func TestDTX(t *testing.T) {
	// Talk, 4 s of DTX (one comfort-noise packet every 400 ms, sequence
	// numbers continuous, timestamps jumping), talk again.
	var pkts []pkt
	seq, ts, at := uint16(65000), uint32(0), time.Duration(0)
	add := func(n int, step time.Duration) {
		for range n {
			pkts = append(pkts, pkt{seq: seq, ts: ts, at: at})
			seq++
			ts += uint32(step * 48000 / time.Second)
			at += step
		}
	}
	add(100, 20*ms)
	add(10, 400*ms)
	add(100, 20*ms)
	b := mustNew(t, DefaultConfig())
	r := simulate(t, b, pkts, 10*ms, 20*ms, at+time.Second)
	var want []uint16
	for _, p := range pkts {
		want = append(want, p.seq)
	}
	if got := r.played(); !slices.Equal(got, want) {
		t.Fatalf("played %v", got)
	}
	if s := r.stats; s.Lost != 0 || s.Late != 0 || s.DroppedShrink != 0 || s.Resyncs != 0 || s.FrameDuration != 20*ms {
		t.Fatalf("stats %+v", s)
	}
	if r.maxDly != DefaultMinDelay {
		t.Fatalf("DTX raised the target to %v", r.maxDly)
	}
}

func TestCallerStall(t *testing.T) {
	// The mixing clock wakes 260 ms late and catches up with back-to-back
	// pops: everything buffered meanwhile plays, nothing is lost or dropped.
	b := mustNew(t, DefaultConfig())
	pkts := stream(0, 0, 100, 20*ms, nominal(20*ms, 0))
	i := 0
	pushUntil := func(at time.Duration) {
		for ; i < len(pkts) && pkts[i].at <= at; i++ {
			b.Push(pkts[i].seq, pkts[i].ts, payloadFor(pkts[i].seq), t0.Add(pkts[i].at))
		}
	}
	var got []uint16
	pop := func(at time.Duration) {
		if r := b.Pop(t0.Add(at)); r.Status == Packet {
			got = append(got, r.Seq)
		} else if r.Status == Lost {
			t.Fatalf("lost %d at %v", r.Seq, at)
		}
	}
	for tick := 10 * ms; tick < 2500*ms; tick += 20 * ms {
		if tick >= 1010*ms && tick < 1270*ms {
			continue // stalled
		}
		pushUntil(tick)
		if tick == 1270*ms {
			for range 13 {
				pop(tick + 300*time.Microsecond)
			}
		}
		pop(tick)
	}
	if !slices.Equal(got, seqRange(0, 100)) {
		t.Fatalf("played %v", got)
	}
	if s := b.Stats(); s.Lost != 0 || s.DroppedShrink != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestLossHoldsOneMorePacket: after a loss the target grows by one packet,
// so the packet after the next loss is already buffered and is handed out
// as FEC data; ten seconds without loss bring the target back.
func TestLossHoldsOneMorePacket(t *testing.T) {
	const n = 800 // 16 s
	var pkts []pkt
	for i, p := range stream(0, 0, n, 20*ms, nominal(20*ms, 0)) {
		if i == 100 || i == 200 {
			continue
		}
		pkts = append(pkts, p)
	}
	b := mustNew(t, DefaultConfig())
	var targets []time.Duration
	var lost []event
	epoch := time.Unix(0, 0)
	pi := 0
	for tick := time.Duration(0); tick < n*20*ms; tick += 20 * ms {
		now := epoch.Add(tick + 10*ms)
		for pi < len(pkts) && pkts[pi].at <= tick+10*ms {
			b.Push(pkts[pi].seq, pkts[pi].ts, payloadFor(pkts[pi].seq), epoch.Add(pkts[pi].at))
			pi++
		}
		r := b.Pop(now)
		if r.Status == Lost {
			lost = append(lost, event{seq: r.Seq, next: payloadSeq(r.Next)})
		}
		targets = append(targets, b.Delay())
	}
	if targets[50] != 20*ms {
		t.Fatalf("target before any loss %v, want 20ms", targets[50])
	}
	if targets[150] != 40*ms {
		t.Fatalf("target 1 s after a loss %v, want 40ms", targets[150])
	}
	if targets[len(targets)-1] != 20*ms {
		t.Fatalf("target 10 s after the last loss %v, want 20ms", targets[len(targets)-1])
	}
	if len(lost) != 2 || lost[1].seq != 200 || lost[1].next != 201 {
		t.Fatalf("losses %+v: the second must come with the next packet for FEC", lost)
	}
}

// TestHoldsLessThanAPacketOnACleanLink: with a millisecond or two of
// jitter, a packet is played at the first Pop that leaves that much margin
// after its expected arrival, not a whole packet later. One late packet
// early on makes the buffer rebuffer; counting depth in whole packets then
// held every later packet an extra 20 ms for as long as the stream lasted.
func TestHoldsLessThanAPacketOnACleanLink(t *testing.T) {
	const n = 600
	arrival := func(i int) time.Duration {
		d := time.Duration(i)*20*ms + time.Duration(i*7919%5)*ms/2 // 0–2 ms of jitter
		if i == 20 {
			d += 10 * ms // one late packet
		}
		return d
	}
	for _, phase := range []time.Duration{3 * ms, 8 * ms, 15 * ms} {
		b := mustNew(t, DefaultConfig())
		r := simulate(t, b, stream(100, 0, n, 20*ms, arrival), phase, 20*ms, n*20*ms+time.Second)
		var waits []time.Duration
		for _, e := range r.events {
			// After the spike's estimate has decayed and shrinking has
			// taken back what it added.
			if e.status == Packet && e.at > 9*time.Second {
				waits = append(waits, e.at-arrival(int(e.seq-100)))
			}
		}
		if s := r.stats; s.Lost != 0 || len(waits) < n-460 {
			t.Fatalf("phase %v: stats %+v, %d packets after 9 s", phase, s, len(waits))
		}
		slices.Sort(waits)
		// The pops come phase after each nominal arrival: with 2 ms of
		// jitter to absorb, a packet waits about phase.
		if med := waits[len(waits)/2]; med > phase {
			t.Errorf("phase %v: median wait %v, want at most %v", phase, med, phase)
		}
	}
}

// TestWaited: a played packet reports how long it was buffered.
func TestWaited(t *testing.T) {
	b := mustNew(t, DefaultConfig())
	b.Push(1, 0, []byte{1}, t0)
	b.Push(2, 960, []byte{2}, t0.Add(20*ms))
	for _, tc := range []struct {
		at   time.Duration
		want time.Duration
	}{{27 * ms, 27 * ms}, {47 * ms, 27 * ms}} {
		r := b.Pop(t0.Add(tc.at))
		if r.Status != Packet || r.Waited != tc.want {
			t.Fatalf("pop at %v: %v waited %v, want a packet that waited %v", tc.at, r.Status, r.Waited, tc.want)
		}
	}
}

// TestSlack: on a clean link a played packet reports how much earlier it
// could have been popped; a clock that moves its pops that much earlier
// still finds every packet, and waits only the jitter allowance. After a
// loss the cushioned playout reports no slack.
func TestSlack(t *testing.T) {
	// run pushes packet i at i·20 ms (0–1 ms of jitter) and pops after
	// it, from packet 1 on, at phase(i); packet drop (if > 0) is lost.
	run := func(phase func(i int) time.Duration, drop int) (slack []time.Duration, timed []bool, s Stats) {
		b := mustNew(t, DefaultConfig())
		for i := range 300 {
			if i != drop || drop == 0 {
				b.Push(uint16(i), uint32(i*960), []byte{byte(i)}, t0.Add(time.Duration(i)*20*ms+time.Duration(i*7919%3)*ms/2))
			}
			if i > 0 {
				r := b.Pop(t0.Add(time.Duration(i)*20*ms + phase(i)))
				slack, timed = append(slack, r.Slack), append(timed, r.Timed && r.Status == Packet)
			}
		}
		return slack, timed, b.Stats()
	}
	const phase = 16 * ms
	fixed := func(int) time.Duration { return phase }
	slack, timed, _ := run(fixed, 0)
	got := slack[len(slack)-1]
	if !timed[len(timed)-1] || got <= 0 || got >= phase {
		t.Fatalf("slack at a %v phase: %v (timed %v), want between 0 and the phase", phase, got, timed[len(timed)-1])
	}
	// From packet 150 on, pop that much earlier: nothing is missed, and
	// the slack is gone.
	moved := func(i int) time.Duration {
		if i < 150 {
			return phase
		}
		return phase - got
	}
	earlier, timed, s := run(moved, 0)
	if s.Underruns != 0 || s.Lost != 0 {
		t.Fatalf("popping %v earlier: %+v", got, s)
	}
	if e := earlier[len(earlier)-1]; !timed[len(timed)-1] || e < -ms || e > ms {
		t.Errorf("popping %v earlier leaves slack %v, want about 0", got, e)
	}
	// After a loss: no slack for lossHold (10 s, longer than the run).
	_, timed, _ = run(fixed, 100)
	for i := 101; i < len(timed); i++ {
		if timed[i] {
			t.Fatalf("pop %d after the loss of packet 100 reports slack", i+1)
		}
	}
}
