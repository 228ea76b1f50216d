package room

import (
	"slices"
	"testing"
	"time"

	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/media"
)

// shareRoom is a clockless room of three camera senders (p0..p2) whose
// views are composed by hand, p1 able to share; it records the room's
// events.
func shareRoom(t *testing.T) (*Room, *[]Event) {
	t.Helper()
	r, _, _ := benchVideoRoom(t, []int{0, 0, 0})
	var events []Event
	r.onEvent = func(e Event) { events = append(events, e) }
	r.roster[1].pres = newVideoIn()
	return r, &events
}

// share makes p's presentation show a picture from at on.
func share(p *participant, at time.Time) {
	pic, _ := media.NewVideoFrame(1920, 1080)
	p.pres.latest, p.pres.have, p.pres.at, p.pres.since = *pic, true, at, at
}

// viewOf composes nothing but returns what receiver i would see this tick:
// the group's compositor layout and tiles.
func viewOf(t *testing.T, r *Room, vc *videoClock, i int) (compositor.Layout, []string) {
	t.Helper()
	featured, excl := r.snapshot(vc)
	g := r.assign(vc, vc.receivers[i], featured, excl, r.clock.Now())
	if g == nil {
		t.Fatal("no group")
	}
	t.Cleanup(g.close)
	who := keyTiles(g.key)
	if len(who) != len(g.tiles) {
		t.Fatalf("key %q for %d tiles", g.key, len(g.tiles))
	}
	return g.layout, who
}

// keyTiles is the tiles a view key names (participant, "/screen" for a share).
func keyTiles(key string) []string {
	var parts []string
	start := 0
	for i := 0; i <= len(key); i++ {
		if i == len(key) || key[i] == '|' {
			parts = append(parts, key[start:i])
			start = i + 1
		}
	}
	return parts[2:] // codec and layout first
}

// TestPresentationFollowsTheShare: a share switches the room to the
// presentation layout (share first, the cameras after it) and announces
// it; when the share stops sending for shareIdle the grid returns and the
// end is announced; a layout set over the API is kept.
func TestPresentationFollowsTheShare(t *testing.T) {
	r, events := shareRoom(t)
	vc := newVideoClock(r)
	defer vc.close()
	now := r.clock.Now()

	l, who := viewOf(t, r, vc, 0)
	if l != compositor.Grid() || len(who) != 3 {
		t.Fatalf("before sharing: %T %v", l, who)
	}
	share(r.roster[1], now)
	l, who = viewOf(t, r, vc, 0)
	if l != compositor.Presentation() || !slices.Equal(who, []string{"p1/screen", "p0", "p1", "p2"}) {
		t.Fatalf("sharing: %T %v", l, who)
	}
	if got := r.ShownLayout().Type; got != LayoutPresentation {
		t.Errorf("shown layout %v while sharing", got)
	}
	if sharing, shown := r.Presentations(); !slices.Equal(sharing, []media.ParticipantID{"p1"}) || shown != "p1" {
		t.Errorf("Presentations: %v, shown %q", sharing, shown)
	}
	if !hasEvent(*events, EventPresentationStarted, "p1") || !hasEvent(*events, EventLayoutChanged, "") {
		t.Errorf("events %v", *events)
	}

	// The share's last picture gets older than shareIdle: it ended.
	r.roster[1].pres.at = now.Add(-shareIdle - time.Second)
	l, who = viewOf(t, r, vc, 0)
	if l != compositor.Grid() || len(who) != 3 {
		t.Fatalf("after the share: %T %v", l, who)
	}
	if !hasEvent(*events, EventPresentationStopped, "p1") {
		t.Errorf("no stop event: %v", *events)
	}

	// A layout set over the API stays while someone shares; a custom
	// region can bind the share.
	if err := r.SetLayout("", Layout{Type: LayoutSpeaker}); err != nil {
		t.Fatal(err)
	}
	share(r.roster[1], r.clock.Now())
	if l, _ = viewOf(t, r, vc, 0); l != compositor.Speaker() {
		t.Fatalf("set layout replaced: %T", l)
	}
	custom := Layout{Type: LayoutCustom, Regions: []Region{
		{X: 0, Y: 0, W: 0.75, H: 1, Source: SourcePresentation},
		{X: 0.75, Y: 0, W: 0.25, H: 0.25, Source: SourceParticipant, Participant: "p2"},
	}}
	if err := r.SetLayout("", custom); err != nil {
		t.Fatal(err)
	}
	if _, who = viewOf(t, r, vc, 0); !slices.Equal(who, []string{"p1/screen", "p2"}) {
		t.Fatalf("custom with the presentation slot: %v", who)
	}
}

// TestPresentationLatestOrChosen: with two shares the latest is shown,
// unless one was chosen over the API.
func TestPresentationLatestOrChosen(t *testing.T) {
	r, _ := shareRoom(t)
	vc := newVideoClock(r)
	defer vc.close()
	now := r.clock.Now()
	r.roster[2].pres = newVideoIn()
	share(r.roster[1], now.Add(-time.Second))
	share(r.roster[2], now)
	if _, who := viewOf(t, r, vc, 0); who[0] != "p2/screen" {
		t.Fatalf("latest share not shown: %v", who)
	}
	if err := r.ShowPresentation("p1"); err != nil {
		t.Fatal(err)
	}
	if _, who := viewOf(t, r, vc, 0); who[0] != "p1/screen" {
		t.Fatalf("chosen share not shown: %v", who)
	}
	if sharing, shown := r.Presentations(); len(sharing) != 2 || shown != "p1" {
		t.Errorf("Presentations: %v, shown %q", sharing, shown)
	}
	if err := r.ShowPresentation("nobody"); err == nil {
		t.Error("choosing an unknown participant succeeded")
	}
}

// TestOverlayFollowsParticipants: tiles carry names, mute marks and the
// talking highlight (held for speakerHold), unless the room turns them off.
func TestOverlayFollowsParticipants(t *testing.T) {
	r, _ := shareRoom(t)
	vc := newVideoClock(r)
	defer vc.close()
	now := r.clock.Now()
	r.roster[0].muted = true
	r.roster[2].lastSpoke.Store(now.Add(-speakerHold / 2).UnixNano())
	r.snapshot(vc)
	got := []compositor.Overlay{vc.tiles[0].overlay, vc.tiles[1].overlay, vc.tiles[2].overlay}
	want := []compositor.Overlay{{Name: "p0", Muted: true}, {Name: "p1"}, {Name: "p2", Highlight: true}}
	if !slices.Equal(got, want) {
		t.Fatalf("overlays %+v, want %+v", got, want)
	}
	r.roster[2].lastSpoke.Store(now.Add(-2 * speakerHold).UnixNano())
	r.opts.NoLabels = true
	r.snapshot(vc)
	if o := vc.tiles[0].overlay; o != (compositor.Overlay{}) || vc.tiles[2].overlay.Highlight {
		t.Fatalf("labels off / hold over: %+v %+v", o, vc.tiles[2].overlay)
	}
	r.roster[1].talking.Store(true)
	r.opts.NoHighlight = true
	r.snapshot(vc)
	if vc.tiles[1].overlay.Highlight {
		t.Fatal("highlight drawn with NoHighlight")
	}
	if u := r.overlayUnit(); u != 4 {
		t.Errorf("overlay unit %d for a 1280-wide canvas with a 320-wide rung, want 4", u)
	}
}

func hasEvent(evs []Event, typ EventType, id media.ParticipantID) bool {
	return slices.ContainsFunc(evs, func(e Event) bool { return e.Type == typ && e.Participant == id })
}

// sharerPeer is a peer that counts the presentation keyframes asked of it.
type sharerPeer struct {
	Peer
	asked int
}

func (*sharerPeer) PresentationFrames() <-chan []byte { return nil }
func (s *sharerPeer) RequestPresentationKeyFrame()    { s.asked++ }

// TestQuietShareAskedForAPicture: a live share that sent nothing for
// shareRefresh is asked for a keyframe at each tick, not before.
func TestQuietShareAskedForAPicture(t *testing.T) {
	r, _ := shareRoom(t)
	vc := newVideoClock(r)
	defer vc.close()
	peer := &sharerPeer{}
	r.roster[1].peer = peer
	now := r.clock.Now()
	share(r.roster[1], now)
	r.videoTick(0, now, vc)
	if peer.asked != 0 {
		t.Fatalf("a fresh share asked %d times", peer.asked)
	}
	r.roster[1].pres.at = now.Add(-shareRefresh - time.Millisecond)
	r.videoTick(1, now, vc)
	if peer.asked != 1 {
		t.Fatalf("a quiet share asked %d times, want 1", peer.asked)
	}
}
