package room

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/mixer"
)

// participant is one member of a room. Its fields have one owner each:
//   - set at creation and never changed: identity, peer and its optional
//     capabilities, codec names;
//   - control state (name, muted, gain, video muted): the room's lock;
//   - what the audio clock publishes for readers (talking, level, last
//     spoke, bitrate): atomics;
//   - the audio pipeline (audioIn, audioOut, the mixer input): the audio
//     clock goroutine, from the tick that admits it to the tick that drops it;
//   - the video output (vout): the video clock goroutine, but for its view;
//   - the video input (vin): its decode goroutine, behind its own lock.
type participant struct {
	id       media.ParticipantID
	identity string
	hidden   bool
	peer     Peer
	log      *slog.Logger
	kind     string

	dtmf     DTMFPeer     // nil unless the peer receives telephone keys
	link     LinkPeer     // nil unless its transport reports on and probes its link
	reporter LinkReporter // nil unless its transport reports on its link

	recvAudioCodec, recvVideoCodec string // what it sends us
	sendAudioCodec                 string // what it hears the mix in,
	sendAudioRate                  int    // at this RTP clock rate (0: the codec's)
	sendVideoCodec                 string // the canvas codec it receives

	// Control state, under the room's lock.
	name       string
	muted      bool
	gainDB     float64
	videoMuted bool
	// pending: admitted to the room, but its connection is not up yet, so
	// it has no codecs and is not mixed or served; removed: it left.
	pending, removed bool
	cancel           chan struct{} // closed when a pending participant is removed
	// failed is set once something it drove panicked: the clocks skip it
	// until it is dropped.
	failed atomic.Bool

	// Published by the audio clock.
	talking   atomic.Bool
	level     atomic.Uint64 // math.Float64bits of the smoothed dBov
	lastSpoke atomic.Int64  // unix ns of the last tick it was talking, for choosing tiles beyond 16
	// rxBytes counts encoded media received (audio and video); the audio
	// clock turns it into bitrate once a second.
	rxBytes atomic.Uint64
	rxLast  uint64 // audio clock
	bitrate atomic.Uint64

	// The audio clock's.
	in  *mixer.Input
	ain audioIn
	out audioOut

	// video (nil when the participant sends or receives none); the
	// decoder is created at join and started once admitted.
	vdec codec.VideoDecoder
	vin  *videoIn
	vout *videoOut
	// the presentation (screen share) input, as vdec and vin; nil when
	// the participant negotiated no second video track.
	presDec codec.VideoDecoder
	pres    *videoIn
}

// newParticipant checks what p asks for (registered codecs, a peer that
// carries video if video is negotiated) without creating any codec: a
// participant whose connection is not up yet costs no decoder or encoder.
func newParticipant(id media.ParticipantID, p JoinParams, reg *codec.Registry, log *slog.Logger) (*participant, error) {
	pt := &participant{id: id, cancel: make(chan struct{}), identity: p.Identity, hidden: p.Hidden, name: p.Name, peer: p.Peer, log: log,
		kind: p.Kind, recvAudioCodec: p.RecvAudioCodec, recvVideoCodec: p.RecvVideoCodec,
		sendAudioCodec: p.SendAudioCodec, sendAudioRate: p.SendAudioClockRate}
	pt.level.Store(math.Float64bits(mixer.SilenceDBov))
	pt.dtmf, _ = p.Peer.(DTMFPeer)
	pt.link, _ = p.Peer.(LinkPeer)
	pt.reporter, _ = p.Peer.(LinkReporter)
	for _, mime := range []string{p.RecvAudioCodec, p.SendAudioCodec} {
		if mime != "" {
			if _, err := reg.Audio(mime); err != nil {
				return nil, err
			}
		}
	}
	if p.RecvVideoCodec == "" && p.SendVideoCodec == "" {
		return pt, nil
	}
	vp, ok := p.Peer.(VideoPeer)
	if !ok {
		return nil, fmt.Errorf("%w: video negotiated but the peer carries none", ErrBadOptions)
	}
	for _, mime := range []string{p.RecvVideoCodec, p.SendVideoCodec} {
		if mime != "" {
			if _, err := reg.Video(mime); err != nil {
				return nil, err
			}
		}
	}
	if p.SendVideoCodec != "" {
		pt.sendVideoCodec = p.SendVideoCodec
		pt.vout = &videoOut{peer: vp, link: pt.link, tsOffset: rand.Uint32()}
	}
	return pt, nil
}

// open creates the participant's codecs (audio holds the room's audio
// encoder settings); on failure it frees what it made.
func (pt *participant) open(reg *codec.Registry, audio codec.EncoderParams) error {
	err := pt.openCodecs(reg, audio)
	if err != nil {
		pt.close()
	}
	return err
}

func (pt *participant) openCodecs(reg *codec.Registry, audio codec.EncoderParams) error {
	if pt.recvAudioCodec != "" {
		if err := pt.ain.init(pt.recvAudioCodec, reg); err != nil {
			return err
		}
	}
	if pt.sendAudioCodec != "" {
		if err := pt.out.init(pt.sendAudioCodec, pt.sendAudioRate, reg, audio); err != nil {
			return err
		}
	}
	if pt.recvVideoCodec != "" {
		c, err := reg.Video(pt.recvVideoCodec)
		if err == nil {
			pt.vdec, err = c.NewDecoder()
		}
		if err != nil {
			return fmt.Errorf("video decoder for %s: %w", pt.recvVideoCodec, err)
		}
	}
	return pt.openPresentation(reg)
}

// start begins the participant's background work once it is admitted to
// r: decoding its video.
func (pt *participant) start(r *Room) {
	if pt.vdec != nil {
		failed := func(v any) { r.manager.fail(r.id, pt, fmt.Errorf("video decoding panicked: %v", v)) }
		pt.vin = startVideoIn(pt.peer.(VideoPeer), pt.vdec, r.clock, r.stats, &pt.rxBytes, pt.log, failed)
		pt.vdec = nil // owned by the decode goroutine now
	}
	if src, ok := pt.presentationOf(); ok && pt.presDec != nil {
		failed := func(v any) { r.manager.fail(r.id, pt, fmt.Errorf("presentation decoding panicked: %v", v)) }
		pt.pres = startVideoIn(src, pt.presDec, r.clock, r.stats, &pt.rxBytes, pt.log, failed)
		pt.presDec = nil
	}
}

// finish closes the peer and waits for the participant's goroutines. It is
// called outside every lock: closing a peer can call back into the room.
func (pt *participant) finish() error {
	err := pt.peer.Close()
	if pt.vin != nil {
		<-pt.vin.done // the peer closed its frame channel, so decoding ends
	}
	if pt.pres != nil {
		<-pt.pres.done
	}
	return err
}

// close frees the audio codecs and an unstarted video decoder, once the
// audio clock no longer uses them. The peer is closed by finish.
func (pt *participant) close() {
	pt.ain.close()
	pt.out.close()
	if pt.vdec != nil {
		_ = pt.vdec.Close()
	}
	if pt.presDec != nil {
		_ = pt.presDec.Close()
	}
}

// isTile reports whether the participant appears on the canvas: everyone
// who sends audio or video; pure viewers do not.
func (pt *participant) isTile() bool { return pt.recvAudioCodec != "" || pt.recvVideoCodec != "" }

// publish stores what readers may see of the tick that just ran.
func (pt *participant) publish(at time.Time) {
	talking := pt.in.Talking()
	pt.talking.Store(talking)
	pt.level.Store(math.Float64bits(pt.in.Level()))
	if talking {
		pt.lastSpoke.Store(at.UnixNano())
	}
}
