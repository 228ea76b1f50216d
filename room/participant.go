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
	sendVideoCodec                 string // the canvas codec it receives

	// Control state, under the room's lock.
	name       string
	muted      bool
	gainDB     float64
	videoMuted bool

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
}

// newParticipant creates the participant's codecs; audio holds the room's
// audio encoder settings.
func newParticipant(id media.ParticipantID, p JoinParams, reg *codec.Registry, audio codec.EncoderParams, log *slog.Logger) (*participant, error) {
	pt := &participant{id: id, identity: p.Identity, hidden: p.Hidden, name: p.Name, peer: p.Peer, log: log,
		kind: p.Kind, recvAudioCodec: p.RecvAudioCodec, recvVideoCodec: p.RecvVideoCodec}
	pt.level.Store(math.Float64bits(mixer.SilenceDBov))
	pt.dtmf, _ = p.Peer.(DTMFPeer)
	pt.link, _ = p.Peer.(LinkPeer)
	pt.reporter, _ = p.Peer.(LinkReporter)
	if err := pt.newCodecs(p, reg, audio); err != nil {
		pt.close()
		return nil, err
	}
	return pt, nil
}

func (pt *participant) newCodecs(p JoinParams, reg *codec.Registry, audio codec.EncoderParams) error {
	if p.RecvAudioCodec != "" {
		if err := pt.ain.init(p.RecvAudioCodec, reg); err != nil {
			return err
		}
	}
	if p.SendAudioCodec != "" {
		if err := pt.out.init(p.SendAudioCodec, p.SendAudioClockRate, reg, audio); err != nil {
			return err
		}
	}
	if p.RecvVideoCodec == "" && p.SendVideoCodec == "" {
		return nil
	}
	vp, ok := p.Peer.(VideoPeer)
	if !ok {
		return fmt.Errorf("%w: video negotiated but the peer carries none", ErrBadOptions)
	}
	if p.RecvVideoCodec != "" {
		c, err := reg.Video(p.RecvVideoCodec)
		if err == nil {
			pt.vdec, err = c.NewDecoder()
		}
		if err != nil {
			return fmt.Errorf("video decoder for %s: %w", p.RecvVideoCodec, err)
		}
	}
	if p.SendVideoCodec != "" {
		if _, err := reg.Video(p.SendVideoCodec); err != nil {
			return err
		}
		pt.sendVideoCodec = p.SendVideoCodec
		pt.vout = &videoOut{peer: vp, link: pt.link, tsOffset: rand.Uint32()}
	}
	return nil
}

// start begins the participant's background work once it is admitted:
// decoding its video.
func (pt *participant) start(clock media.Clock, c *counters) {
	if pt.vdec != nil {
		pt.vin = startVideoIn(pt.peer.(VideoPeer), pt.vdec, clock, c, &pt.rxBytes, pt.log)
		pt.vdec = nil // owned by the decode goroutine now
	}
}

// finish closes the peer and waits for the participant's goroutines. It is
// called outside every lock: closing a peer can call back into the room.
func (pt *participant) finish() error {
	err := pt.peer.Close()
	if pt.vin != nil {
		<-pt.vin.done // the peer closed its frame channel, so decoding ends
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
}

// isTile reports whether the participant appears on the canvas: everyone
// who sends audio or video; pure viewers do not.
func (pt *participant) isTile() bool { return pt.ain.dec != nil || pt.vin != nil }

// publish stores what readers may see of the tick that just ran.
func (pt *participant) publish(at time.Time) {
	talking := pt.in.Talking()
	pt.talking.Store(talking)
	pt.level.Store(math.Float64bits(pt.in.Level()))
	if talking {
		pt.lastSpoke.Store(at.UnixNano())
	}
}
