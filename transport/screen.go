package transport

import "github.com/pion/webrtc/v4"

// Screen sharing: a participant's offer may carry a second video m-line
// that it sends on, its presentation (the web page's "Share screen" sends
// getDisplayMedia's track there, a pion client a second track). The first
// video m-line is the camera and carries the room's canvas back; the
// second is only received, decoded by the room as the participant's
// presentation. A page that stops sharing just stops sending on it (or
// replaces the track by none), so no renegotiation is needed to start or
// stop: the room ends a share that sent nothing for a while.

// enableScreen makes the peer accept a presentation track.
func (p *Peer) enableScreen() {
	p.screen.frames = make(chan []byte, inFrameQueue)
}

// readVideoTrack feeds an incoming video track to the camera or, when it
// arrives on a video m-line after the first, to the presentation.
func (p *Peer) readVideoTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	in := &p.video.videoInput
	for i, t := range p.videoTransceivers() {
		if t.Receiver() == receiver && i > 0 {
			in = &p.screen
		}
	}
	if in.frames == nil { // a second video track the participant may not share on
		drain(track)
		return
	}
	p.readVideo(track, in)
}

// videoTransceivers lists the connection's video transceivers in m-line
// order.
func (p *Peer) videoTransceivers() []*webrtc.RTPTransceiver {
	var out []*webrtc.RTPTransceiver
	for _, t := range p.pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			out = append(out, t)
		}
	}
	return out
}

// PresentationFrames implements room.PresentationPeer: the presentation's
// complete frames, in order from a keyframe; nil when the offer had no
// second video m-line the participant sends on.
func (p *Peer) PresentationFrames() <-chan []byte { return p.screen.frames }

// RequestPresentationKeyFrame implements room.PresentationPeer: a PLI to
// the presentation's sender, at most one per pliInterval.
func (p *Peer) RequestPresentationKeyFrame() { p.requestKeyFrame(&p.screen) }
