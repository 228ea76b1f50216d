package transport

import (
	"github.com/pion/webrtc/v4"
)

// mixStreamID groups our audio and video tracks into one MediaStream:
// browsers lip-sync only tracks of the same stream.
const mixStreamID = "mcu-mix"

// newOutStream adds an outgoing track of codec c to the connection and
// returns the stream that writes it, with the track's sender (for its
// RTCP). The bytes it sends count toward the link's sent rate.
func (p *Peer) newOutStream(c webrtc.RTPCodecCapability, kind string) (*rtpOut, *webrtc.RTPSender, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(c, kind, mixStreamID)
	if err != nil {
		return nil, nil, err
	}
	sender, err := p.pc.AddTrack(track)
	if err != nil {
		return nil, nil, err
	}
	var ssrc uint32
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		ssrc = uint32(enc[0].SSRC)
	}
	// The payload type is pion's to choose: the track stamps the
	// negotiated one on every packet.
	return newRTPOut(track, ssrc, 0, int(c.ClockRate), &p.link.sent), sender, nil
}
