package room

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/internal/testkit/fakeclock"
	"github.com/mcu-project/mcu/media"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakePeer plays a scripted stream of pulls (a tone encoded as Opus, with
// chosen losses) and records what the room sends it.
type fakePeer struct {
	mu      sync.Mutex
	enc     *opus.Encoder
	toneHz  float64
	amp     float64      // of the tone; 0: 8000
	n       int          // frames produced
	lose    map[int]bool // frame indexes reported lost
	pending []byte       // the packet after a loss, for FEC
	silence bool         // with toneHz 0: send coded silence rather than nothing
	speech  bool         // send codectest.Speech instead of the tone
	sent    []sentPacket
	closed  int
}

type sentPacket struct {
	payload []byte
	ts      uint32
	at      time.Time
}

func newFakePeer(t *testing.T, hz float64, lose ...int) *fakePeer {
	t.Helper()
	enc, err := opus.NewEncoder(codec.EncoderParams{FEC: true, BitrateBps: 64000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	_ = enc.SetPacketLossPercent(20)
	p := &fakePeer{enc: enc, toneHz: hz, lose: map[int]bool{}}
	for _, l := range lose {
		p.lose[l] = true
	}
	return p
}

func (p *fakePeer) encode(i int) []byte {
	pcm := make([]int16, media.FrameSamples)
	amp := p.amp
	if amp == 0 {
		amp = 8000
	}
	if p.speech {
		codectest.Speech(pcm, i*media.FrameSamples)
	} else {
		codectest.Tone(pcm, p.toneHz, amp, i*media.FrameSamples)
	}
	buf := make([]byte, 1500)
	n, _ := p.enc.Encode(pcm, buf)
	return buf[:n]
}

func (p *fakePeer) ReadAudio(time.Time) media.EncodedAudio {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.toneHz == 0 && !p.silence {
		return media.EncodedAudio{Status: media.PacketEmpty}
	}
	i := p.n
	p.n++
	if p.pending != nil && !p.lose[i] {
		pk := p.pending
		p.pending = nil
		return media.EncodedAudio{Status: media.PacketOK, Payload: pk}
	}
	pk := p.encode(i)
	if p.lose[i] {
		// Encode the following frame now, as a real buffer would hold it.
		p.pending = p.encode(i + 1)
		p.n++
		return media.EncodedAudio{Status: media.PacketLost, Next: p.pending}
	}
	return media.EncodedAudio{Status: media.PacketOK, Payload: pk}
}

// setTone changes what it sends from the next pull: a tone, or with hz 0
// coded silence (silence true) or nothing.
func (p *fakePeer) setTone(hz float64, silence bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.toneHz, p.silence = hz, silence
}

func (p *fakePeer) WriteAudio(payload []byte, ts uint32, at time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, sentPacket{append([]byte(nil), payload...), ts, at})
	return nil
}

func (p *fakePeer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed++
	return nil
}

func (p *fakePeer) snapshot() []sentPacket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sentPacket(nil), p.sent...)
}

// clocked is a manager whose rooms run on a fake clock: tests step room
// time tick by tick instead of sleeping.
type clocked struct {
	*Manager
	clk *fakeclock.Clock
}

func newTestManager(t *testing.T, mutate ...func(*Config)) *clocked {
	t.Helper()
	var reg codec.Registry
	if err := opus.Register(&reg); err != nil {
		t.Fatal(err)
	}
	clk := fakeclock.New(time.Unix(1_700_000_000, 0))
	cfg := Config{Registry: &reg, Defaults: DefaultOptions(), Clock: clk}
	for _, f := range mutate {
		f(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return &clocked{m, clk}
}

// settle waits until every room's clocks wait for their next deadline.
func (c *clocked) settle(t *testing.T) {
	t.Helper()
	if err := c.clk.WaitArmed(2*len(c.Rooms()), 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// run steps room time through d, one clock deadline at a time, each tick
// done before the next.
func (c *clocked) run(t *testing.T, d time.Duration) {
	t.Helper()
	end := c.clk.Now().Add(d)
	for c.settle(t); c.clk.Now().Before(end); c.settle(t) {
		c.clk.Step()
	}
}

// runUntil steps room time until done holds, for at most limit of it.
func (c *clocked) runUntil(t *testing.T, limit time.Duration, done func() bool) {
	t.Helper()
	end := c.clk.Now().Add(limit)
	for c.settle(t); !done(); c.settle(t) {
		if c.clk.Now().After(end) {
			t.Fatalf("not done after %v of room time", limit)
		}
		c.clk.Step()
	}
}

func join(t *testing.T, m *clocked, room string, p Peer) media.ParticipantID {
	t.Helper()
	id, err := m.Join(media.RoomID(room), JoinParams{Peer: p, RecvAudioCodec: opus.MimeType, SendAudioCodec: opus.MimeType})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func decodeAll(t *testing.T, pkts []sentPacket) []int16 {
	t.Helper()
	dec, err := opus.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var out []int16
	buf := make([]int16, opus.MaxPacketSamples)
	for _, p := range pkts {
		n, err := dec.Decode(p.payload, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	return out
}

func level(pcm []int16, hz float64) float64 {
	return 20 * math.Log10(math.Max(codectest.Goertzel(pcm, hz)/8000, 1e-12))
}

// TestMixMinusThroughRoom runs the real clock and codecs with fake peers:
// each hears the other at the level sent and not itself; RTP timestamps
// advance by exactly one frame per packet.
func TestMixMinusThroughRoom(t *testing.T) {
	m := newTestManager(t)
	a, b := newFakePeer(t, 500), newFakePeer(t, 1300)
	join(t, m, "r", a)
	join(t, m, "r", b)
	m.runUntil(t, 5*time.Second, func() bool { return len(a.snapshot()) >= 30 && len(b.snapshot()) >= 30 })
	for _, tc := range []struct {
		name       string
		p          *fakePeer
		own, other float64
	}{{"a", a, 500, 1300}, {"b", b, 1300, 500}} {
		sent := tc.p.snapshot()
		for i := 1; i < len(sent); i++ {
			if d := sent[i].ts - sent[i-1].ts; d != 960 {
				t.Fatalf("%s: timestamp step %d at packet %d", tc.name, d, i)
			}
			if d := sent[i].at.Sub(sent[i-1].at); d != media.FrameDuration {
				t.Fatalf("%s: room-clock step %v at packet %d", tc.name, d, i)
			}
		}
		pcm := decodeAll(t, sent)[5*960:]
		if o := level(pcm, tc.other); math.Abs(o) > 1.5 {
			t.Errorf("%s hears the other at %+.2f dB", tc.name, o)
		}
		if own := level(pcm, tc.own); own > -40 {
			t.Errorf("%s hears itself at %+.2f dB", tc.name, own)
		}
	}
}

// TestLossRecovery: losses with a following packet are recovered with FEC
// and counted; the listener still hears the tone continuously.
func TestLossRecovery(t *testing.T) {
	m := newTestManager(t)
	lossy := newFakePeer(t, 700, 10, 15, 20, 25)
	listener := newFakePeer(t, 0)
	join(t, m, "r", lossy)
	join(t, m, "r", listener)
	m.run(t, 800*time.Millisecond)
	if s := m.Stats(); s.FECFrames < 4 {
		t.Fatalf("FEC frames = %d, want ≥ 4 (stats %+v)", s.FECFrames, s)
	}
	pcm := decodeAll(t, listener.snapshot())
	// Every 20 ms frame after start-up carries the tone: no gap.
	for f := 5; f+1 < len(pcm)/960; f++ {
		if l := level(pcm[f*960:(f+1)*960], 700); l < -6 {
			t.Fatalf("frame %d: tone at %+.1f dB", f, l)
		}
	}
}

func TestMembership(t *testing.T) {
	m := newTestManager(t, func(c *Config) { c.Defaults.MaxParticipants = 2 })
	a, b, c := newFakePeer(t, 0), newFakePeer(t, 0), newFakePeer(t, 0)
	ida := join(t, m, "r", a)
	// A hidden participant (a recorder) takes no place, and is not
	// refused one in a full room.
	hidden := newFakePeer(t, 0)
	if _, err := m.Join("r", JoinParams{Peer: hidden, Hidden: true, SendAudioCodec: "audio/opus"}); err != nil {
		t.Fatalf("hidden join: %v", err)
	}
	join(t, m, "r", b)
	if _, err := m.Join("r", JoinParams{Peer: c}); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("third join: %v, want ErrRoomFull", err)
	}
	if _, err := m.Join("r", JoinParams{Peer: newFakePeer(t, 0), Hidden: true, SendAudioCodec: "audio/opus"}); err != nil {
		t.Fatalf("hidden join into a full room: %v", err)
	}
	if err := m.Leave("r", "nobody"); !errors.Is(err, ErrUnknownParticipant) {
		t.Fatalf("leave unknown: %v", err)
	}
	if err := m.Leave("nowhere", ida); !errors.Is(err, ErrUnknownRoom) {
		t.Fatalf("leave unknown room: %v", err)
	}
	if err := m.Leave("r", ida); err != nil || a.closed != 1 {
		t.Fatalf("leave: %v, closed %d", err, a.closed)
	}
	if _, err := m.Join("x", JoinParams{Peer: a, RecvAudioCodec: "audio/nope"}); err == nil {
		t.Fatal("join with an unknown codec succeeded")
	}
	if got := m.Rooms(); len(got) != 1 || got[0] != "r" {
		t.Fatalf("rooms = %v (a failed join must not leave a room behind)", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if b.closed != 1 {
		t.Fatalf("Close closed b %d times", b.closed)
	}
	if _, err := m.Join("r", JoinParams{Peer: c}); !errors.Is(err, ErrClosed) {
		t.Fatalf("join after close: %v", err)
	}
	if s := m.Stats(); s.Rooms != 0 || s.Participants != 0 {
		t.Fatalf("stats after close: %+v", s)
	}
}

// TestLeaverIsFreed: once a participant has left, nothing the room keeps
// for its next ticks points at it any more, so its peer (a PeerConnection
// and its buffers, in the server) is garbage while the room goes on.
func TestLeaverIsFreed(t *testing.T) {
	m := newTestManager(t)
	join(t, m, "r", newFakePeer(t, 500))
	// Both talk, so each gets a mix-minus of its own to encode.
	id, gone := joinWeak(t, m, "r", newFakePeer(t, 1300))
	m.run(t, 200*time.Millisecond)
	if err := m.Leave("r", id); err != nil {
		t.Fatal(err)
	}
	m.run(t, 200*time.Millisecond)
	runtime.GC()
	if gone.Value() != nil {
		t.Fatal("the room still holds the peer of the participant that left")
	}
}

// joinWeak joins p and keeps only a weak pointer to it.
func joinWeak(t *testing.T, m *clocked, room string, p *fakePeer) (media.ParticipantID, weak.Pointer[fakePeer]) {
	t.Helper()
	return join(t, m, room, p), weak.Make(p)
}

func TestEmptyRoomIsDeleted(t *testing.T) {
	m := newTestManager(t)
	id := join(t, m, "r", newFakePeer(t, 0))
	if err := m.Leave("r", id); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Room("r"); !errors.Is(err, ErrUnknownRoom) {
		t.Fatalf("room still there: %v", err)
	}
}

// TestMuteAndGain: muting a participant takes it out of the others' mix;
// gain changes its level by the dB asked; unknown IDs and bad gains fail.
func TestMuteAndGain(t *testing.T) {
	m := newTestManager(t)
	talker, listener := newFakePeer(t, 900), newFakePeer(t, 0)
	id := join(t, m, "r", talker)
	join(t, m, "r", listener)
	r, err := m.Room("r")
	if err != nil {
		t.Fatal(err)
	}
	heard := func(settle time.Duration) float64 {
		m.run(t, settle)
		n := len(listener.snapshot())
		m.run(t, 300*time.Millisecond)
		pcm := decodeAll(t, listener.snapshot())
		return level(pcm[n*960:], 900)
	}
	if l := heard(300 * time.Millisecond); math.Abs(l) > 1.5 {
		t.Fatalf("before: %+.1f dB", l)
	}
	if err := r.SetGain(id, -12); err != nil {
		t.Fatal(err)
	}
	if l := heard(100 * time.Millisecond); math.Abs(l+12) > 1.5 {
		t.Fatalf("at -12 dB gain: %+.1f dB", l)
	}
	if err := r.SetMuted(id, true); err != nil {
		t.Fatal(err)
	}
	if l := heard(100 * time.Millisecond); l > -40 {
		t.Fatalf("muted: still heard at %+.1f dB", l)
	}
	ps := r.Participants()
	if len(ps) != 2 || ps[0].ID != id || !ps[0].Muted {
		t.Fatalf("participants %+v", ps)
	}
	if err := r.SetMuted("nobody", true); !errors.Is(err, ErrUnknownParticipant) {
		t.Fatalf("mute unknown: %v", err)
	}
	if err := r.SetGain(id, 99); err == nil {
		t.Fatal("gain of +99 dB accepted")
	}
}

// dtmfPeer is a silent fake peer that reports telephone keys.
type dtmfPeer struct {
	*fakePeer
	mu   sync.Mutex
	keys []byte
}

func (d *dtmfPeer) TakeDTMF(dst []byte) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	dst = append(dst, d.keys...)
	d.keys = d.keys[:0]
	return dst
}

// TestEvents: joins, leaves and DTMF keys reach OnEvent in order;
// MustExist refuses a join to a room that does not exist.
func TestEvents(t *testing.T) {
	var mu sync.Mutex
	var events []Event
	m := newTestManager(t, func(c *Config) {
		c.OnEvent = func(e Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	})
	if _, err := m.Join("nowhere", JoinParams{Peer: newFakePeer(t, 0), MustExist: true}); !errors.Is(err, ErrUnknownRoom) {
		t.Fatalf("MustExist join: %v", err)
	}
	phone := &dtmfPeer{fakePeer: newFakePeer(t, 0)}
	listener := join(t, m, "r", newFakePeer(t, 0))
	pid := join(t, m, "r", phone)
	phone.mu.Lock()
	phone.keys = append(phone.keys, '1', '#')
	phone.mu.Unlock()
	m.run(t, 100*time.Millisecond)
	if err := m.Leave("r", pid); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, e := range events {
		s := e.Type.String() + ":" + string(e.Participant)
		if e.Type == EventDTMF {
			s += ":" + string(e.Digit)
		}
		got = append(got, s)
	}
	want := []string{"room-created:", "joined:" + string(listener), "joined:" + string(pid), "dtmf:" + string(pid) + ":1", "dtmf:" + string(pid) + ":#", "left:" + string(pid)}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v\nwant   %v", got, want)
	}
	if s := m.Stats(); s.DTMF != 2 {
		t.Fatalf("DTMF count %d", s.DTMF)
	}
}

// TestMaxSpeakers: with the mix capped at one speaker, a listener hears
// exactly one of two equally loud talkers.
func TestMaxSpeakers(t *testing.T) {
	m := newTestManager(t, func(c *Config) { c.Defaults.MaxSpeakers = 1 })
	a, b, listener := newFakePeer(t, 900), newFakePeer(t, 1300), newFakePeer(t, 0)
	join(t, m, "r", a)
	join(t, m, "r", b)
	join(t, m, "r", listener)
	m.runUntil(t, 5*time.Second, func() bool { return len(listener.snapshot()) >= 40 })
	pcm := decodeAll(t, listener.snapshot())[20*960:]
	la, lb := level(pcm, 900), level(pcm, 1300)
	t.Logf("listener hears 900 Hz at %+.1f dB, 1300 Hz at %+.1f dB", la, lb)
	if (la > -3) == (lb > -3) || min(la, lb) > -40 {
		t.Fatalf("want exactly one talker mixed: %+.1f and %+.1f dB", la, lb)
	}
}

// TestSharedMixEncode: listeners who contribute nothing (silent, gated out
// of the mix) share one encode of the full mix; only the talker gets its
// own mix-minus. One talker and three silent listeners cost two encodes per
// tick, not four, and every listener hears the talker.
func TestSharedMixEncode(t *testing.T) {
	m := newTestManager(t)
	talker := newFakePeer(t, 700)
	listeners := []*fakePeer{newFakePeer(t, 0), newFakePeer(t, 0), newFakePeer(t, 0)}
	join(t, m, "r", talker)
	for _, l := range listeners {
		join(t, m, "r", l)
	}
	m.run(t, 300*time.Millisecond)
	s0 := m.Stats()
	m.run(t, 500*time.Millisecond)
	s1 := m.Stats()
	perTick := float64(s1.AudioEncodes-s0.AudioEncodes) / float64(s1.Ticks-s0.Ticks)
	t.Logf("%.2f encodes per tick for 1 talker and 3 silent listeners", perTick)
	if perTick < 1.9 || perTick > 2.1 {
		t.Errorf("%.2f encodes per tick, want 2", perTick)
	}
	for i, l := range listeners {
		if lv := level(decodeAll(t, l.snapshot())[10*960:], 700); math.Abs(lv) > 1.5 {
			t.Errorf("listener %d hears the talker at %+.1f dB", i, lv)
		}
	}
	if lv := level(decodeAll(t, talker.snapshot())[10*960:], 700); lv > -40 {
		t.Errorf("the talker hears itself at %+.1f dB", lv)
	}
}

// TestDTXWhenTheMixIsSilent: someone alone in a room hears silence, which
// costs a comfort-noise packet now and then instead of 50 packets a second;
// once someone else talks, every frame is sent again, and the timestamps
// carry the length of the gap.
func TestDTXWhenTheMixIsSilent(t *testing.T) {
	m := newTestManager(t)
	alone := newFakePeer(t, 500)
	join(t, m, "d", alone)
	m.run(t, 1500*time.Millisecond)
	mark := m.clk.Now()
	m.run(t, time.Second)
	var quiet int
	for _, p := range alone.snapshot() {
		if p.at.After(mark) {
			quiet++
		}
	}
	if quiet > 10 {
		t.Fatalf("%d packets in a second of silence, want DTX (a few)", quiet)
	}
	join(t, m, "d", newFakePeer(t, 1300))
	m.run(t, 500*time.Millisecond)
	// A second of speech; the timestamps show whether a frame was not sent.
	talk := sentSince(t, m, alone, m.clk.Now(), 50)
	for i := 1; i < len(talk); i++ {
		if d := talk[i].ts - talk[i-1].ts; d != 960 {
			t.Fatalf("timestamp step %d while someone talks", d)
		}
	}
	sent := alone.snapshot()
	var gap bool
	for i := 1; i < len(sent); i++ {
		if d := sent[i].ts - sent[i-1].ts; d%960 != 0 {
			t.Fatalf("timestamp step %d is not whole frames", d)
		} else if d > 960 {
			gap = true
		}
	}
	if !gap {
		t.Fatal("no timestamp gap over the silence")
	}
	pcm := decodeAll(t, talk)
	if l := level(pcm, 1300); math.Abs(l) > 1.5 {
		t.Errorf("hears the talker at %+.2f dB after the silence", l)
	}
}

// TestSilenceIsNotDecoded: a participant sending steady silence (a muted
// browser) repeats the same packet, which the room recognises without
// decoding; when it starts talking, the others hear it at once, at its
// level.
func TestSilenceIsNotDecoded(t *testing.T) {
	m := newTestManager(t)
	muted := newFakePeer(t, 900)
	muted.setTone(0, true)
	listener := newFakePeer(t, 500)
	join(t, m, "s", muted)
	join(t, m, "s", listener)
	m.run(t, time.Second)
	skipped0 := m.Stats().SilentFrames
	m.run(t, time.Second)
	if n := m.Stats().SilentFrames - skipped0; n < 40 {
		t.Fatalf("%d silent frames recognised in a second of silence, want about 50", n)
	}
	muted.setTone(900, true)
	// from the tick after the change
	sentSince(t, m, listener, m.clk.Now().Add(media.FrameDuration), 45)
	sent := listener.snapshot()
	pcm := decodeAll(t, sent) // one decoder over the whole stream, as a receiver has
	for i := len(sent) - 45; i < len(sent); i++ {
		if d := sent[i].ts - sent[i-1].ts; d != 960 {
			t.Fatalf("timestamp step %d after the talker started: a frame was not sent", d)
		}
		if l := level(pcm[i*960:(i+1)*960], 900); math.Abs(l) > 3 {
			t.Fatalf("frame %d of the last 45: tone at %+.1f dB after the talker started", i-len(sent)+46, l)
		}
	}
}

// sentSince runs the room until p has been sent n packets for ticks after
// from, and returns them.
func sentSince(t *testing.T, m *clocked, p *fakePeer, from time.Time, n int) []sentPacket {
	t.Helper()
	var got []sentPacket
	m.runUntil(t, 5*time.Second, func() bool {
		got = got[:0]
		for _, s := range p.snapshot() {
			if s.at.After(from) {
				got = append(got, s)
			}
		}
		return len(got) >= n
	})
	return got
}

// reportingPeer is a fakePeer whose transport reports on its link, as a
// WebRTC peer or a plain-RTP leg receiving RTCP receiver reports does.
type reportingPeer struct {
	*fakePeer
	linkMu sync.Mutex
	link   media.LinkSample
}

func (p *reportingPeer) Link() media.LinkSample {
	p.linkMu.Lock()
	defer p.linkMu.Unlock()
	return p.link
}

func (p *reportingPeer) report(s media.LinkSample) {
	p.linkMu.Lock()
	p.link = s
	p.linkMu.Unlock()
}

// TestFECFollowsReceiverReports: what a listener receives carries in-band
// FEC while its loss is unknown (no report yet), none once its reports
// show a clean link, FEC again when they show loss, and it keeps that when
// the reports stop (unknown is not clean).
func TestFECFollowsReceiverReports(t *testing.T) {
	m := newTestManager(t)
	talker := newFakePeer(t, 1)
	talker.speech = true
	listener := &reportingPeer{fakePeer: newFakePeer(t, 0)}
	join(t, m, "r", talker)
	join(t, m, "r", listener)
	// lbrrShare is the share of the packets the listener received over
	// the last d that carry LBRR data, after waiting d.
	lbrrShare := func(d time.Duration) float64 {
		from := len(listener.snapshot())
		m.run(t, d)
		var payloads [][]byte
		for _, p := range listener.snapshot()[from:] {
			payloads = append(payloads, p.payload)
		}
		with, readable := codectest.CountLBRR(payloads)
		if readable < 20 {
			t.Fatalf("%d readable SILK/hybrid packets in %v", readable, d)
		}
		return float64(with) / float64(readable)
	}
	steps := []struct {
		name    string
		link    media.LinkSample
		wantFEC bool
	}{
		{"no report yet", media.LinkSample{}, true},
		{"reports no loss", media.LinkSample{AudioReported: true}, false},
		{"reports 10 % loss", media.LinkSample{AudioReported: true, AudioLoss: 0.1, Loss: 0.1}, true},
		{"reports stopped", media.LinkSample{}, true},
	}
	for _, st := range steps {
		listener.report(st.link)
		lbrrShare(1100 * time.Millisecond) // the room adapts once a second
		share := lbrrShare(600 * time.Millisecond)
		t.Logf("%s: %.0f %% of packets carry FEC", st.name, 100*share)
		if got := share > 0.5; got != st.wantFEC {
			t.Errorf("%s: %.0f %% of packets carry FEC, want FEC %v", st.name, 100*share, st.wantFEC)
		}
	}
}
