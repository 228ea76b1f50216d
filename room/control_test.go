package room

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/media"
)

// stallPeer is a fakePeer that can hold the audio clock's goroutine inside
// a tick, as a slow tick of a big room holds it.
type stallPeer struct {
	*fakePeer
	stall   chan struct{} // a pull takes one and blocks until release closes
	inside  chan struct{}
	release chan struct{}
}

func (p *stallPeer) ReadAudio(now time.Time) media.EncodedAudio {
	select {
	case <-p.stall:
		p.inside <- struct{}{}
		<-p.release
	default:
	}
	return p.fakePeer.ReadAudio(now)
}

// TestControlDoesNotWaitForTheTick: while the room's tick is busy, a join
// into it, its listing, a mute, a layout, the manager's stats and a leave
// all return at once; the joiner is listed at once and hears the room
// from the ticks after.
func TestControlDoesNotWaitForTheTick(t *testing.T) {
	m := newTestManager(t)
	talker := &stallPeer{fakePeer: newFakePeer(t, 700), stall: make(chan struct{}, 1), inside: make(chan struct{}), release: make(chan struct{})}
	talkerID := join(t, m, "b", talker)
	other := join(t, m, "b", newFakePeer(t, 0))
	m.run(t, 100*time.Millisecond)
	r, err := m.Room("b")
	if err != nil {
		t.Fatal(err)
	}

	talker.stall <- struct{}{}
	m.clk.Step()
	select {
	case <-talker.inside:
	case <-time.After(10 * time.Second):
		t.Fatal("the tick did not start")
	}
	newcomer := newFakePeer(t, 0)
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			id, err := m.Join("b", JoinParams{Peer: newcomer, RecvAudioCodec: opus.MimeType, SendAudioCodec: opus.MimeType})
			if err != nil {
				return err
			}
			if ps := r.Participants(); len(ps) != 3 || ps[2].ID != id {
				return errors.New("the newcomer is not listed last")
			}
			if err := r.SetMuted(other, true); err != nil {
				return err
			}
			if !r.Participants()[1].Muted {
				return errors.New("the mute is not listed")
			}
			if err := r.SetLayout("", Layout{Type: LayoutSpeaker}); err != nil {
				return err
			}
			if s := m.Stats(); s.Participants != 3 {
				return errors.New("stats miss the newcomer")
			}
			return m.Leave("b", other)
		}()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("control waited for the busy tick")
	}
	close(talker.release)
	m.run(t, 500*time.Millisecond)
	pcm := decodeAll(t, newcomer.snapshot())
	if len(pcm) < 20*960 {
		t.Fatalf("the newcomer got %d frames in 500 ms", len(pcm)/960)
	}
	if l := level(pcm[10*960:], 700); math.Abs(l) > 1.5 {
		t.Errorf("the newcomer hears the talker at %+.1f dB", l)
	}
	if ps := r.Participants(); len(ps) != 2 || ps[0].ID != talkerID || !ps[0].Talking {
		t.Errorf("participants after the leave: %+v", ps)
	}
}

// TestIdentityAndHidden: a second join with an identity replaces the
// first (its peer closed, a left event); a hidden participant is mixed
// and served but never listed, counted or announced; a receive-only one is
// listed as a listener.
func TestIdentityAndHidden(t *testing.T) {
	var events []Event
	var mu sync.Mutex
	m := newTestManager(t, func(c *Config) {
		c.OnEvent = func(e Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	})
	talker := newFakePeer(t, 700)
	first, second, monitor, listener := newFakePeer(t, 0), newFakePeer(t, 0), newFakePeer(t, 0), newFakePeer(t, 0)
	joinAs := func(p *fakePeer, identity string, hidden, sends bool) media.ParticipantID {
		t.Helper()
		jp := JoinParams{Peer: p, Identity: identity, Hidden: hidden, SendAudioCodec: opus.MimeType}
		if sends {
			jp.RecvAudioCodec = opus.MimeType
		}
		id, err := m.Join("i", jp)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	joinAs(talker, "talker", false, true)
	a := joinAs(first, "alice", false, true)
	b := joinAs(second, "alice", false, true)
	mon := joinAs(monitor, "recorder", true, false)
	lis := joinAs(listener, "", false, false)
	if first.closed != 1 {
		t.Fatalf("the replaced participant's peer was closed %d times", first.closed)
	}
	m.run(t, 500*time.Millisecond)
	r, _ := m.Room("i")
	var listed []media.ParticipantID
	for _, p := range r.Participants() {
		listed = append(listed, p.ID)
		if p.Listener != (p.ID == lis) {
			t.Errorf("%s listed with Listener %v", p.ID, p.Listener)
		}
	}
	if len(listed) != 3 || listed[1] != b || listed[2] != lis || r.Info().Participants != 3 || r.Len() != 4 {
		t.Fatalf("listed %v (alice's second join %s, listener %s), info %d, len %d", listed, b, lis, r.Info().Participants, r.Len())
	}
	if l := level(decodeAll(t, monitor.snapshot())[10*960:], 700); math.Abs(l) > 1.5 {
		t.Errorf("the hidden monitor hears the talker at %+.1f dB", l)
	}
	if err := m.Leave("i", mon); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range events {
		if e.Participant == mon {
			t.Errorf("event %v about the hidden participant", e.Type)
		}
		if e.Participant == a && e.Type != EventJoined && e.Type != EventLeft {
			t.Errorf("event %v about the replaced participant", e.Type)
		}
	}
	if !slices.ContainsFunc(events, func(e Event) bool { return e.Participant == a && e.Type == EventLeft }) {
		t.Error("no left event for the replaced participant")
	}
}

// TestServerLimits: beyond MaxRooms no room is created, beyond
// MaxParticipants nobody joins anywhere; a leave gives the place back and
// a replacement by identity needs none.
func TestServerLimits(t *testing.T) {
	m := newTestManager(t, func(c *Config) { c.MaxRooms, c.MaxParticipants = 2, 3 })
	join(t, m, "a", newFakePeer(t, 0))
	id := join(t, m, "a", newFakePeer(t, 0))
	join(t, m, "b", newFakePeer(t, 0))
	if _, err := m.Join("c", JoinParams{Peer: newFakePeer(t, 0)}); !errors.Is(err, ErrServerFull) {
		t.Fatalf("a third room: %v", err)
	}
	if _, err := m.CreateRoom("c", DefaultOptions()); !errors.Is(err, ErrServerFull) {
		t.Fatalf("creating a third room: %v", err)
	}
	if _, err := m.Join("b", JoinParams{Peer: newFakePeer(t, 0)}); !errors.Is(err, ErrServerFull) {
		t.Fatalf("a fourth participant: %v", err)
	}
	if err := m.Leave("a", id); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the same identity again: a replacement, not a fourth
		if _, err := m.Join("b", JoinParams{Peer: newFakePeer(t, 0), Identity: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Join("b", JoinParams{Peer: newFakePeer(t, 0), Identity: "y"}); !errors.Is(err, ErrServerFull) {
		t.Fatalf("a new identity at the limit: %v", err)
	}
	if err := m.DeleteRoom("b"); err != nil {
		t.Fatal(err)
	}
	if got := m.participants.Load(); got != 1 { // a's first
		t.Fatalf("%d places taken after deleting room b, want 1", got)
	}
}

// panicPeer is a fakePeer whose reads or writes panic once armed, as a
// transport's bug on a crafted packet would.
type panicPeer struct {
	*fakePeer
	onRead, onWrite atomic.Bool
}

func (p *panicPeer) ReadAudio(now time.Time) media.EncodedAudio {
	if p.onRead.Load() {
		panic("crafted packet")
	}
	return p.fakePeer.ReadAudio(now)
}

func (p *panicPeer) WriteAudio(b []byte, ts uint32, at time.Time) error {
	if p.onWrite.Load() {
		panic("broken socket")
	}
	return p.fakePeer.WriteAudio(b, ts, at)
}

// TestPanicFailsOneParticipant: a panic in what one participant drives
// (its input, its output) removes that participant, with a left event and
// a counted failure; the others go on hearing each other.
func TestPanicFailsOneParticipant(t *testing.T) {
	for _, where := range []string{"read", "write"} {
		t.Run(where, func(t *testing.T) {
			var left atomic.Int32
			m := newTestManager(t, func(c *Config) {
				c.OnEvent = func(e Event) {
					if e.Type == EventLeft {
						left.Add(1)
					}
				}
			})
			a, b := newFakePeer(t, 500), newFakePeer(t, 1300)
			bad := &panicPeer{fakePeer: newFakePeer(t, 900)}
			join(t, m, "p", a)
			join(t, m, "p", b)
			badID := join(t, m, "p", bad)
			m.run(t, 200*time.Millisecond)
			if where == "read" {
				bad.onRead.Store(true)
			} else {
				bad.onWrite.Store(true)
			}
			r, _ := m.Room("p")
			m.runUntil(t, 2*time.Second, func() bool { return r.Len() == 2 })
			from := len(a.snapshot())
			m.run(t, 500*time.Millisecond)
			if s := m.Stats(); s.ParticipantFailures != 1 || left.Load() != 1 || bad.closed != 1 {
				t.Fatalf("failures %d, left events %d, the failed peer closed %d times", s.ParticipantFailures, left.Load(), bad.closed)
			}
			for _, p := range r.Participants() {
				if p.ID == badID {
					t.Fatal("the failed participant is still listed")
				}
			}
			if l := level(decodeAll(t, a.snapshot())[from*960:], 1300); math.Abs(l) > 1.5 {
				t.Errorf("a hears b at %+.1f dB after the failure", l)
			}
		})
	}
}

// TestPendingUntilConnected: a participant whose connection is not up
// holds its place and is listed, but is not mixed and hears nothing; once
// ready it is; one that leaves while pending is simply gone.
func TestPendingUntilConnected(t *testing.T) {
	m := newTestManager(t)
	talker := newFakePeer(t, 700)
	join(t, m, "q", talker)
	late := newFakePeer(t, 1100)
	ready := make(chan struct{})
	id, err := m.Join("q", JoinParams{Peer: late, RecvAudioCodec: opus.MimeType, SendAudioCodec: opus.MimeType, Ready: ready})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := m.Room("q")
	m.run(t, 300*time.Millisecond)
	if n := len(r.Participants()); n != 2 {
		t.Fatalf("%d listed while one connects", n)
	}
	if n := len(late.snapshot()); n != 0 {
		t.Fatalf("a pending participant was sent %d packets", n)
	}
	if n := len(r.audio.members); n != 1 {
		t.Fatalf("%d mixed while one connects", n)
	}
	close(ready)
	m.runUntil(t, 2*time.Second, func() bool { return len(late.snapshot()) >= 20 })
	if l := level(decodeAll(t, late.snapshot())[10*960:], 700); math.Abs(l) > 1.5 {
		t.Errorf("once connected it hears the talker at %+.1f dB", l)
	}
	gone := newFakePeer(t, 0)
	gid, err := m.Join("q", JoinParams{Peer: gone, RecvAudioCodec: opus.MimeType, SendAudioCodec: opus.MimeType, Ready: make(chan struct{})})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Leave("q", gid); err != nil || gone.closed != 1 {
		t.Fatalf("leaving while pending: %v, closed %d", err, gone.closed)
	}
	m.run(t, 100*time.Millisecond)
	if ps := r.Participants(); len(ps) != 2 || ps[1].ID != id {
		t.Fatalf("participants %+v", ps)
	}
}

// TestClaim: a room is created only once its home is claimed, one claim
// for concurrent first joins; a refused claim creates nothing; the claim
// is released whichever way the room goes; participant IDs carry the
// prefix.
func TestClaim(t *testing.T) {
	var mu sync.Mutex
	claims, releases := map[media.RoomID]int{}, map[media.RoomID]int{}
	refuse := errors.New("homed elsewhere")
	m := newTestManager(t, func(c *Config) {
		c.IDPrefix = "n1."
		c.Claim = func(id media.RoomID) (func(), error) {
			if id == "elsewhere" {
				return nil, refuse
			}
			time.Sleep(5 * time.Millisecond) // a round trip to NATS
			mu.Lock()
			claims[id]++
			mu.Unlock()
			return func() { mu.Lock(); releases[id]++; mu.Unlock() }, nil
		}
	})
	if _, err := m.Join("elsewhere", JoinParams{Peer: newFakePeer(t, 0)}); !errors.Is(err, refuse) {
		t.Fatalf("join of a room claimed elsewhere: %v", err)
	}
	if len(m.Rooms()) != 0 {
		t.Fatalf("rooms %v after a refused claim", m.Rooms())
	}
	var wg sync.WaitGroup
	ids := make([]media.ParticipantID, 8)
	for i := range ids {
		wg.Go(func() { ids[i] = join(t, m, "a", newFakePeer(t, 0)) })
	}
	wg.Wait()
	for _, id := range ids {
		if !strings.HasPrefix(string(id), "n1.") {
			t.Fatalf("participant %q without the prefix", id)
		}
	}
	for _, id := range ids {
		if err := m.Leave("a", id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.CreateRoom("b", DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateRoom("b", DefaultOptions()); !errors.Is(err, ErrRoomExists) {
		t.Fatalf("creating b twice: %v", err)
	}
	if err := m.DeleteRoom("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateRoom("c", DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[media.RoomID]int{"a": 1, "b": 1, "c": 1}
	if fmt.Sprint(claims) != fmt.Sprint(want) || fmt.Sprint(releases) != fmt.Sprint(want) {
		t.Fatalf("claims %v, releases %v, want %v each", claims, releases, want)
	}
}
