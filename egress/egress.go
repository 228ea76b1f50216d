// Package egress records a room's full mix and canvas to files (and
// streams them out): each egress is a hidden receiver of the room, so it
// takes the room's encoded outputs as any listener does, sharing the
// encoders where its codecs and rung match, and muxes them as they come.
package egress

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/mcu-project/mcu/egress/rtmp"
	"github.com/mcu-project/mcu/media"
)

// Format is a recording's container.
type Format uint8

const (
	FormatUnknown Format = iota
	// FormatWebM is VP8 + Opus in WebM.
	FormatWebM
	// FormatOgg is the mix alone, Opus in Ogg.
	FormatOgg
	// FormatMP4 is H.264 + Opus in fragmented MP4.
	FormatMP4
	// FormatRTMP is a live stream: H.264 + AAC in FLV over RTMP.
	FormatRTMP
)

// files is the last file format.
const files = FormatMP4

// ParseFormat reads a file format's name ("webm", "mp4", "ogg").
func ParseFormat(s string) (Format, error) {
	for f := FormatWebM; f <= files; f++ {
		if f.String() == s {
			return f, nil
		}
	}
	return FormatUnknown, fmt.Errorf("%w: format %q (webm, mp4, ogg)", ErrBadRequest, s)
}

func (f Format) String() string {
	switch f {
	case FormatWebM:
		return "webm"
	case FormatOgg:
		return "ogg"
	case FormatMP4:
		return "mp4"
	case FormatRTMP:
		return "rtmp"
	}
	return "unknown"
}

// codecs are the MIME types the room must send a recording of format f
// in; the video is empty for an audio-only container.
func (f Format) codecs() (audio, video string) {
	switch f {
	case FormatWebM:
		return "audio/opus", "video/VP8"
	case FormatOgg:
		return "audio/opus", ""
	case FormatMP4, FormatRTMP:
		// The stream's AAC is made from the room's Opus mix: it shares
		// the room's full-mix encode, and the room needs no AAC encoder.
		return "audio/opus", "video/H264"
	}
	return "", ""
}

// Peer is what an egress is to its room: a receiver that sends nothing
// (the room package's Peer and VideoPeer, declared here so that egress
// does not depend on the room package).
type Peer interface {
	ReadAudio(now time.Time) media.EncodedAudio
	WriteAudio(payload []byte, ts uint32, at time.Time) error
	Close() error
	VideoFrames() <-chan []byte
	RequestKeyFrame()
	WriteVideo(frame []byte, keyframe bool, ts uint32, at time.Time) error
	TakeKeyFrameRequest() bool
}

// Host is what egress needs of the rooms (cmd/mcu adapts the room
// manager).
type Host interface {
	// Join adds p to an existing room as a hidden receiver of the full
	// mix in audioCodec and of the canvas in videoCodec ("" none) at the
	// top rung, whose size it returns.
	Join(id media.RoomID, p Peer, audioCodec, videoCodec string) (pid media.ParticipantID, width, height int, err error)
	// Leave removes the egress from the room; it is called at most once
	// per join, and the room then calls p.Close.
	Leave(id media.RoomID, pid media.ParticipantID) error
	// Listed reports how many listed participants the room has, and
	// whether the room is kept when empty; an error if it is gone.
	Listed(id media.RoomID) (n int, keepWhenEmpty bool, err error)
}

// Request asks for a recording or a live stream.
type Request struct {
	Room   media.RoomID
	Format Format
	// Path is the file, relative to the record folder ("": one named
	// after the room and the start time).
	Path string
	// URL is a live stream's rtmp:// or rtmps:// URL, stream key
	// included (FormatRTMP).
	URL string

	url *url.URL // URL parsed
}

// Info describes an egress.
type Info struct {
	ID     string
	Room   media.RoomID
	Format Format
	// Path is the file's path (the record folder joined with the
	// request's path).
	Path string
	// URL is a stream's URL, its key hidden.
	URL string
	// Connected tells whether a stream is connected now; Retries counts
	// its connections that failed or broke.
	Connected bool
	Retries   int
	Started   time.Time
	// Duration is the media written so far (at the end: the file's).
	Duration time.Duration
	Bytes    int64
	Active   bool
	// Err says why it ended, if not by a stop; for an active stream,
	// its last failure.
	Err string
}

// EventType says what happened to an egress.
type EventType uint8

const (
	EventUnknown EventType = iota
	EventStarted
	EventUpdated
	EventEnded
)

// Event is one thing that happened to an egress.
type Event struct {
	Type EventType
	At   time.Time
	Info Info
}

// Config configures a Manager.
type Config struct {
	Host Host // required
	// Dir is the folder recordings go to (created when needed).
	Dir string
	// OnEvent, if set, is told of every event; it must return quickly.
	OnEvent func(Event)
	Logger  *slog.Logger
	// UpdateEvery is how often an active egress reports its progress
	// (0: every 10 s).
	UpdateEvery time.Duration
}

// keepEnded is how many ended egresses List still shows.
const keepEnded = 64

// Manager runs a server's egresses.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	active map[string]*recorder
	ended  []Info
	closed bool
}

// NewManager checks cfg and returns a manager with no egress.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Host == nil {
		return nil, fmt.Errorf("%w: no host", ErrBadRequest)
	}
	if cfg.Dir == "" {
		cfg.Dir = "recordings"
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UpdateEvery <= 0 {
		cfg.UpdateEvery = 10 * time.Second
	}
	return &Manager{cfg: cfg, log: cfg.Logger.With("component", "egress"), active: map[string]*recorder{}}, nil
}

// Start starts a recording of a room that exists; it fails at once, and
// changes nothing, if the file cannot be created.
func (m *Manager) Start(req Request) (Info, error) {
	audio, video := req.Format.codecs()
	if audio == "" {
		return Info{}, fmt.Errorf("%w: no format", ErrBadRequest)
	}
	if req.Room == "" {
		return Info{}, fmt.Errorf("%w: no room", ErrBadRequest)
	}
	id := newID()
	var path string
	if req.Format == FormatRTMP {
		u, err := rtmp.ParseURL(req.URL)
		if err != nil {
			return Info{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
		req.url = u
	} else {
		var err error
		if path, err = recordPath(m.cfg.Dir, req, id); err != nil {
			return Info{}, err
		}
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return Info{}, ErrClosed
	}
	r, err := startRecorder(m, id, req, path, audio, video)
	if err != nil {
		return Info{}, err
	}
	m.mu.Lock()
	closed = m.closed // again: Close may have come meanwhile
	if !closed {
		m.active[id] = r
	}
	m.mu.Unlock()
	info := r.snapshot()
	if !closed {
		// Reported before it runs: its updates and end come after.
		m.log.Info("egress started", "egress", id, "room", req.Room, "format", req.Format, "path", path, "url", info.URL)
		m.cfg.OnEvent(Event{Type: EventStarted, At: time.Now(), Info: info})
	}
	go r.run()
	if closed {
		r.stop()
		return Info{}, ErrClosed
	}
	return info, nil
}

// Stop ends an egress and waits for its file to be finished.
func (m *Manager) Stop(id string) (Info, error) {
	m.mu.Lock()
	r, ok := m.active[id]
	m.mu.Unlock()
	if !ok {
		if info, ok := m.endedInfo(id); ok {
			return info, nil
		}
		return Info{}, fmt.Errorf("%w: %q", ErrUnknown, id)
	}
	r.stop()
	info, _ := m.endedInfo(id)
	return info, nil
}

func (m *Manager) endedInfo(id string) (Info, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.ended, func(in Info) bool { return in.ID == id })
	if i < 0 {
		return Info{}, false
	}
	return m.ended[i], true
}

// List returns the egresses of a room ("" every room), active ones
// first, each in start order.
func (m *Manager) List(room media.RoomID) []Info {
	m.mu.Lock()
	rs := make([]*recorder, 0, len(m.active))
	for _, r := range m.active {
		rs = append(rs, r)
	}
	ended := slices.Clone(m.ended)
	m.mu.Unlock()
	var out []Info
	for _, r := range rs {
		out = append(out, r.snapshot())
	}
	slices.SortFunc(out, func(a, b Info) int { return a.Started.Compare(b.Started) })
	out = append(out, ended...)
	return slices.DeleteFunc(out, func(in Info) bool { return room != "" && in.Room != room })
}

// ended moves r from the active to the ended egresses and reports it.
func (m *Manager) finished(info Info) {
	m.mu.Lock()
	delete(m.active, info.ID)
	m.ended = append(m.ended, info)
	if len(m.ended) > keepEnded {
		m.ended = slices.Delete(m.ended, 0, len(m.ended)-keepEnded)
	}
	m.mu.Unlock()
	m.log.Info("egress ended", "egress", info.ID, "room", info.Room, "path", info.Path, "duration", info.Duration, "bytes", info.Bytes, "err", info.Err)
	m.cfg.OnEvent(Event{Type: EventEnded, At: time.Now(), Info: info})
}

// Close finishes every egress (their files get their index) and refuses
// new ones; idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	rs := make([]*recorder, 0, len(m.active))
	for _, r := range m.active {
		rs = append(rs, r)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Go(r.stop)
	}
	wg.Wait()
	return nil
}

func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "EG_" + hex.EncodeToString(b)
}
