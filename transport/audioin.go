package transport

import (
	"sync"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/transport/jitter"
	"github.com/pion/rtp"
)

// audioIn is a participant's incoming audio, WebRTC peer or plain-RTP leg
// alike: the playout buffer the receiving goroutine pushes into and the
// room's audio clock pops from, the lock between the two, and the rule
// that a new SSRC starts the buffer afresh.
type audioIn struct {
	obs observer // counts what does not parse as RTP

	mu   sync.Mutex
	jb   *jitter.Buffer
	ssrc uint32 // of the stream being buffered
}

func newAudioIn(cfg jitter.Config, obs observer) (*audioIn, error) {
	jb, err := jitter.New(cfg)
	if err != nil {
		return nil, err
	}
	return &audioIn{obs: obs, jb: jb}, nil
}

// parse unmarshals b into pkt; a packet that is not RTP is counted, logged
// at a sampled rate and reported false.
func (a *audioIn) parse(pkt *rtp.Packet, b []byte) bool {
	if err := pkt.Unmarshal(b); err != nil {
		a.badRTP(err)
		return false
	}
	return true
}

// badRTP counts one incoming packet that is not RTP.
func (a *audioIn) badRTP(err error) {
	a.obs.stats.badRTP.Add(1)
	a.obs.debug("incoming packet is not RTP", "err", err)
}

// push buffers one packet that arrived at now.
func (a *audioIn) push(pkt *rtp.Packet, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if pkt.SSRC != a.ssrc {
		// A new stream (first packet, or the sender restarted): its
		// sequence numbers have nothing to do with the old ones.
		a.jb.Reset()
		a.ssrc = pkt.SSRC
	}
	a.jb.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, now)
}

// ReadAudio takes the next playout result (room.Peer's ReadAudio). The
// payloads stay valid after the lock is released: the buffer keeps them
// until the next Pop, which only the room's clock (this method's single
// caller per participant) makes, and Push never touches them.
func (a *audioIn) ReadAudio(now time.Time) media.EncodedAudio {
	a.mu.Lock()
	r := a.jb.Pop(now)
	a.mu.Unlock()
	switch r.Status {
	case jitter.Packet:
		return media.EncodedAudio{Status: media.PacketOK, Payload: r.Payload, Waited: r.Waited, Slack: r.Slack, Timed: r.Timed}
	case jitter.Lost:
		return media.EncodedAudio{Status: media.PacketLost, Next: r.Next}
	}
	return media.EncodedAudio{Status: media.PacketEmpty}
}
