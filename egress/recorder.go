package egress

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/egress/mp4"
	"github.com/mcu-project/mcu/egress/ogg"
	"github.com/mcu-project/mcu/egress/rtmp"
	"github.com/mcu-project/mcu/egress/webm"
	"github.com/mcu-project/mcu/media"
)

// queueLen bounds the frames waiting for the file (about 3 s of a 30 fps
// canvas and its mix): the room's clocks never wait for a disk.
const queueLen = 256

// startSlack puts the file's zero this much before the first frame: a
// video frame of an earlier instant than the first audio packet (its
// encode took longer) still has a place in the file.
const startSlack = 200 * time.Millisecond

// keyInterval is how often a recording asks the room for a keyframe of
// the canvas: a player seeks to the keyframe before the point it is
// asked for and decodes from there, so this bounds that work. Receivers
// sharing the recorder's encoder get these keyframes too, a cost in
// bits the size of a keyframe every keyInterval.
const keyInterval = 5 * time.Second

// streamKeyInterval is a live stream's: the 2 s that YouTube and Twitch
// ask for, less the frame or two the room takes to make the keyframe.
const streamKeyInterval = 2*time.Second - 100*time.Millisecond

// frameDuration is what the last audio packet adds to the duration.
const frameDuration = media.FrameDuration

// muxer is a container being written, or a stream being sent (one
// goroutine calls it).
type muxer interface {
	Audio(ts time.Duration, b []byte) error
	Video(ts time.Duration, key bool, b []byte) error
	// Close finishes the file (its index) and closes it, or ends the
	// stream.
	Close() error
}

// output is what a recorder writes to.
type output interface {
	muxer
	// Progress is the bytes written so far and the error that ended
	// the output, if any.
	Progress() (int64, error)
}

// fileOutput is a container written to a file.
type fileOutput struct {
	muxer
	*sink
}

func (f fileOutput) Progress() (int64, error) { return f.sink.state() }

// Close finishes the container and closes the file (through the sink).
func (f fileOutput) Close() error { return f.muxer.Close() }

// block is one encoded frame on its way to the file.
type block struct {
	video, key bool
	at         time.Time
	data       []byte
}

// recorder is one recording: the room's hidden receiver (its Peer
// methods run on the room's clocks and only queue) and the goroutine
// that writes the queue to the file.
type recorder struct {
	m       *Manager
	id      string
	req     Request
	path    string
	started time.Time
	pid     media.ParticipantID
	out     output
	// keyInterval is how often it asks for a keyframe of the canvas.
	keyInterval time.Duration

	q        chan block
	quit     chan struct{} // closed to end the recording
	quitOnce sync.Once
	done     chan struct{} // closed once the file is finished
	left     atomic.Bool   // the room was asked to drop it

	// waitKey drops the canvas until a keyframe (at the start and after
	// a drop); wantKey asks the room for one.
	waitKey, wantKey atomic.Bool
	drops            atomic.Uint64

	// The writer goroutine's.
	t0      time.Time
	wrote   bool
	first   time.Duration
	lastKey time.Time // the room-clock time of the last keyframe written

	mu       sync.Mutex
	duration time.Duration
	stream   rtmp.State
}

// startRecorder creates the file (or gets the stream ready) and joins the
// room; the caller then runs it. On failure it leaves nothing behind.
func startRecorder(m *Manager, id string, req Request, path, audio, video string) (*recorder, error) {
	r := &recorder{m: m, id: id, req: req, path: path, started: time.Now(), keyInterval: keyInterval,
		q: make(chan block, queueLen), quit: make(chan struct{}), done: make(chan struct{})}
	r.waitKey.Store(true)
	r.wantKey.Store(true)
	var f *os.File
	fail := func(err error) (*recorder, error) {
		if f != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
		return nil, err
	}
	if req.Format != FormatRTMP {
		var err error
		if f, err = createFile(path); err != nil {
			return nil, err
		}
	}
	pid, w, h, err := m.cfg.Host.Join(req.Room, r, audio, video)
	if err != nil {
		return fail(err)
	}
	r.pid = pid
	if req.Format == FormatRTMP {
		r.keyInterval = streamKeyInterval
		r.out, err = rtmp.New(req.url, r.streamState)
	} else {
		r.out, err = newFile(req.Format, &sink{f: f}, w, h)
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrUnwritable, err)
		}
	}
	if err != nil {
		r.leave()
		return fail(err)
	}
	return r, nil
}

// newFile starts a file of format f with a w×h canvas.
func newFile(f Format, s *sink, w, h int) (output, error) {
	// The rooms' Opus encoders are mono (codec/opus).
	const channels = 1
	var m muxer
	var err error
	switch f {
	case FormatOgg:
		m, err = ogg.New(s, channels)
	case FormatMP4:
		m, err = mp4.New(s, mp4.Tracks{Channels: channels})
	default:
		m, err = webm.New(s, webm.Tracks{Width: w, Height: h, Channels: channels})
	}
	if err == nil {
		_, err = s.state()
	}
	if err != nil {
		return nil, err
	}
	return fileOutput{m, s}, nil
}

// streamState is told by a stream of every connection and failure: an
// update event.
func (r *recorder) streamState(s rtmp.State) {
	r.mu.Lock()
	r.stream = s
	r.mu.Unlock()
	r.m.cfg.OnEvent(Event{Type: EventUpdated, At: time.Now(), Info: r.snapshot()})
}

// ReadAudio is never called: the recorder sends the room nothing.
func (r *recorder) ReadAudio(time.Time) media.EncodedAudio { return media.EncodedAudio{} }

// VideoFrames is nil: the recorder sends no video.
func (r *recorder) VideoFrames() <-chan []byte { return nil }

// RequestKeyFrame does nothing: the recorder sends no video.
func (r *recorder) RequestKeyFrame() {}

// WriteAudio queues one packet of the mix (copied: the room reuses
// payload).
func (r *recorder) WriteAudio(payload []byte, _ uint32, at time.Time) error {
	return r.push(block{at: at, data: append([]byte(nil), payload...)})
}

// WriteVideo queues one frame of the canvas; after a frame was lost the
// canvas waits for (and asks for) a keyframe.
func (r *recorder) WriteVideo(frame []byte, key bool, _ uint32, at time.Time) error {
	if r.waitKey.Load() {
		if !key {
			r.wantKey.Store(true)
			return nil
		}
		r.waitKey.Store(false)
	}
	err := r.push(block{video: true, key: key, at: at, data: append([]byte(nil), frame...)})
	if err != nil {
		r.waitKey.Store(true)
		r.wantKey.Store(true)
	}
	return err
}

var errQueueFull = errors.New("egress: file behind, frame dropped")

func (r *recorder) push(b block) error {
	select {
	case <-r.quit:
		return ErrClosed
	default:
	}
	select {
	case r.q <- b:
		return nil
	default:
		r.drops.Add(1)
		return errQueueFull
	}
}

// TakeKeyFrameRequest implements the room's VideoPeer.
func (r *recorder) TakeKeyFrameRequest() bool { return r.wantKey.Swap(false) }

// Close ends the recording without waiting (the room calls it when the
// recorder leaves or the room closes).
func (r *recorder) Close() error {
	r.quitOnce.Do(func() { close(r.quit) })
	return nil
}

// leave takes the recorder out of its room, once.
func (r *recorder) leave() {
	if r.left.Swap(true) {
		return
	}
	// The room may be gone already (it closed, which is why we stop).
	_ = r.m.cfg.Host.Leave(r.req.Room, r.pid)
}

// stop ends the recording and waits for its file to be finished.
func (r *recorder) stop() {
	r.leave()
	_ = r.Close()
	<-r.done
}

// run writes the queue to the file until the recording ends: stopped,
// its room gone or empty, or its file failing.
func (r *recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastUpdate := time.Now()
	var failure error
loop:
	for {
		select {
		case b := <-r.q:
			r.write(b)
		case <-r.quit:
			break loop
		case now := <-tick.C:
			if _, err := r.out.Progress(); err != nil {
				failure = err
				break loop
			}
			if n, keep, err := r.m.cfg.Host.Listed(r.req.Room); err != nil || (n == 0 && !keep) {
				break loop // the room ended, or everyone left it
			}
			if now.Sub(lastUpdate) >= r.m.cfg.UpdateEvery {
				lastUpdate = now
				r.m.cfg.OnEvent(Event{Type: EventUpdated, At: now, Info: r.snapshot()})
			}
		}
	}
	r.leave()
	for drained := false; !drained; {
		select {
		case b := <-r.q:
			r.write(b)
		default:
			drained = true
		}
	}
	_ = r.out.Close()
	if n := r.drops.Load(); n > 0 {
		r.m.log.Warn("egress dropped frames: its output fell behind", "egress", r.id, "frames", n)
	}
	info := r.snapshot()
	// A stream's last connection failure is not why it ended.
	info.Active, info.Connected, info.Err = false, false, ""
	if _, err := r.out.Progress(); err != nil && failure == nil {
		failure = err
	}
	if failure != nil {
		info.Err = fmt.Sprintf("%v: %v", ErrUnwritable, failure)
	}
	if st, err := os.Stat(r.path); err == nil && r.path != "" {
		info.Bytes = st.Size()
	}
	r.m.finished(info)
}

// write hands one frame to the muxer at its room-clock time from the
// file's start: gaps (silence sent as nothing, a frozen canvas) keep
// their wall-clock length.
func (r *recorder) write(b block) {
	if !r.wrote {
		r.t0 = b.at.Add(-startSlack)
	}
	ts := b.at.Sub(r.t0)
	if ts < 0 {
		return
	}
	var err error
	if b.video {
		switch {
		case b.key:
			r.lastKey = b.at
		case b.at.Sub(r.lastKey) >= r.keyInterval:
			r.wantKey.Store(true)
			r.lastKey = b.at // ask once an interval, the room limits the rate
		}
		err = r.out.Video(ts, b.key, b.data)
	} else {
		err = r.out.Audio(ts, b.data)
	}
	if err != nil {
		return
	}
	if !r.wrote {
		r.wrote, r.first = true, ts
	}
	r.mu.Lock()
	r.duration = max(r.duration, ts-r.first+frameDuration)
	r.mu.Unlock()
}

// snapshot describes the recording now.
func (r *recorder) snapshot() Info {
	var bytes int64
	if r.out != nil {
		bytes, _ = r.out.Progress()
	}
	r.mu.Lock()
	d, st := r.duration, r.stream
	r.mu.Unlock()
	info := Info{ID: r.id, Room: r.req.Room, Format: r.req.Format, Path: r.path, Started: r.started, Duration: d, Bytes: bytes, Active: true,
		Connected: st.Connected, Retries: st.Retries, Err: st.Err}
	if r.req.url != nil {
		info.URL = rtmp.Redact(r.req.url)
	}
	return info
}
