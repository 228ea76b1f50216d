package room

import (
	"errors"
	"math"
	"slices"
	"sync"
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
