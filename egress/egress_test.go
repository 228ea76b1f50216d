package egress

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeHost is a room layer with one room, "r", whose listed count the
// test sets.
type fakeHost struct {
	mu     sync.Mutex
	peers  map[media.ParticipantID]Peer
	n      int
	listed int
	left   []media.ParticipantID
}

func newFakeHost() *fakeHost { return &fakeHost{peers: map[media.ParticipantID]Peer{}, listed: 2} }

func (h *fakeHost) Join(id media.RoomID, p Peer, audio, video string) (media.ParticipantID, int, int, error) {
	if id != "r" {
		return "", 0, 0, errors.New("unknown room")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	pid := media.ParticipantID(strings.Repeat("p", h.n))
	h.peers[pid] = p
	return pid, 64, 48, nil
}

func (h *fakeHost) Leave(_ media.RoomID, pid media.ParticipantID) error {
	h.mu.Lock()
	p, ok := h.peers[pid]
	delete(h.peers, pid)
	h.left = append(h.left, pid)
	h.mu.Unlock()
	if !ok {
		return errors.New("unknown participant")
	}
	return p.Close()
}

func (h *fakeHost) Listed(media.RoomID) (int, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.listed, false, nil
}

func (h *fakeHost) setListed(n int) {
	h.mu.Lock()
	h.listed = n
	h.mu.Unlock()
}

// events collects a manager's events.
type events struct {
	mu  sync.Mutex
	evs []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

// ended waits (5 s at most) for the ended event of id.
func (e *events) ended(t *testing.T, id string) Info {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		e.mu.Lock()
		for _, ev := range e.evs {
			if ev.Type == EventEnded && ev.Info.ID == id {
				e.mu.Unlock()
				return ev.Info
			}
		}
		e.mu.Unlock()
	}
	t.Fatalf("egress %s never ended", id)
	return Info{}
}

func newTestManager(t *testing.T) (*Manager, *fakeHost, *events, string) {
	t.Helper()
	h, ev, dir := newFakeHost(), &events{}, t.TempDir()
	m, err := NewManager(Config{Host: h, Dir: dir, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, h, ev, dir
}

// feed sends the recorder a keyframe and 20 ms of audio per call.
func feed(p Peer, at time.Time) {
	_ = p.WriteVideo(make([]byte, 200), true, 0, at)
	_ = p.WriteAudio(make([]byte, 60), 0, at)
}

func TestStartRefusesBadRequests(t *testing.T) {
	m, h, _, dir := newTestManager(t)
	if err := os.WriteFile(filepath.Join(dir, "taken.webm"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		req  Request
		want error
	}{
		{"up and out", Request{Room: "r", Format: FormatWebM, Path: "../x.webm"}, ErrBadRequest},
		{"absolute", Request{Room: "r", Format: FormatWebM, Path: "/tmp/x.webm"}, ErrBadRequest},
		{"sneaky", Request{Room: "r", Format: FormatWebM, Path: "a/../../x.webm"}, ErrBadRequest},
		{"no format", Request{Room: "r"}, ErrBadRequest},
		{"no room", Request{Format: FormatWebM}, ErrBadRequest},
		{"taken", Request{Room: "r", Format: FormatWebM, Path: "taken.webm"}, ErrExists},
		{"under a file", Request{Room: "r", Format: FormatWebM, Path: "taken.webm/x.webm"}, ErrUnwritable},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := m.Start(c.req); !errors.Is(err, c.want) {
				t.Fatalf("Start: %v, want %v", err, c.want)
			}
		})
	}
	if _, err := m.Start(Request{Room: "nope", Format: FormatWebM, Path: "nope.webm"}); err == nil {
		t.Fatal("recording a room that does not exist")
	}
	if _, err := os.Stat(filepath.Join(dir, "nope.webm")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed start left its file: %v", err)
	}
	if len(h.peers) != 0 || len(m.List("")) != 0 {
		t.Errorf("failed starts left %d peers, %d egresses", len(h.peers), len(m.List("")))
	}
	if _, err := ParseFormat("avi"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("ParseFormat(avi): %v", err)
	}
}

// TestDiskFull: a recording whose file cannot be written any more (the
// disk is full) ends with an error event and leaves its room; another
// recording goes on.
func TestDiskFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	m, h, ev, _ := newTestManager(t)
	a, err := m.Start(Request{Room: "r", Format: FormatWebM, Path: "a.webm"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Start(Request{Room: "r", Format: FormatWebM, Path: "b.webm"})
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	ra := m.active[a.ID]
	m.mu.Unlock()
	// The disk fills up under a's file.
	sk := ra.out.(fileOutput).sink
	sk.mu.Lock()
	_ = sk.f.Close()
	sk.f = full
	sk.mu.Unlock()
	h.mu.Lock()
	pa, pb := h.peers["p"], h.peers["pp"]
	h.mu.Unlock()
	at := time.Now()
	for i := range 50 {
		feed(pa, at.Add(time.Duration(i)*20*time.Millisecond))
		feed(pb, at.Add(time.Duration(i)*20*time.Millisecond))
	}
	info := ev.ended(t, a.ID)
	if !strings.Contains(info.Err, "no space left") {
		t.Errorf("ended with %q, want the disk-full error", info.Err)
	}
	h.mu.Lock()
	_, stillIn := h.peers["p"]
	h.mu.Unlock()
	if stillIn {
		t.Error("the failed recording is still in its room")
	}
	list := m.List("r")
	if len(list) != 2 || list[0].ID != b.ID || !list[0].Active || list[1].ID != a.ID || list[1].Active {
		t.Fatalf("List after the failure: %+v", list)
	}
	stopped, err := m.Stop(b.ID)
	if err != nil || stopped.Err != "" || stopped.Bytes == 0 || stopped.Duration < 900*time.Millisecond {
		t.Fatalf("Stop of the other recording: %+v, %v", stopped, err)
	}
}

// TestRoomEmptied: a recording ends, without an error, once its room has
// nobody listed in it.
func TestRoomEmptied(t *testing.T) {
	m, h, ev, _ := newTestManager(t)
	a, err := m.Start(Request{Room: "r", Format: FormatWebM})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(a.Path), "r-") || filepath.Ext(a.Path) != ".webm" {
		t.Errorf("default path %s", a.Path)
	}
	h.setListed(0)
	if info := ev.ended(t, a.ID); info.Err != "" || info.Active {
		t.Fatalf("ended %+v", info)
	}
	if _, err := m.Stop(a.ID); err != nil {
		t.Errorf("Stop of an ended egress: %v", err)
	}
	if _, err := m.Stop("EG_x"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Stop of an unknown egress: %v", err)
	}
}

// TestClose finishes every recording and refuses new ones.
func TestClose(t *testing.T) {
	m, _, ev, _ := newTestManager(t)
	a, err := m.Start(Request{Room: "r", Format: FormatWebM})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	ev.ended(t, a.ID)
	if _, err := m.Start(Request{Room: "r", Format: FormatWebM}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}
