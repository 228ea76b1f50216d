package transport

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// offerInfo is what we need to know about an offer before pion sees it.
type offerInfo struct {
	// audioDir is the direction of the first usable audio m-line from the
	// offerer's point of view: sendrecv, sendonly, recvonly or inactive.
	audioDir string
}

// wantsToReceive reports whether the offerer asked for our audio.
func (o offerInfo) wantsToReceive() bool {
	return o.audioDir == "sendrecv" || o.audioDir == "recvonly"
}

// wantsToSend reports whether the offerer will send audio.
func (o offerInfo) wantsToSend() bool {
	return o.audioDir == "sendrecv" || o.audioDir == "sendonly"
}

// parseOffer checks an SDP offer for what the MCU needs: it parses, it has
// an audio m-line that is not rejected, and that m-line offers Opus at
// 48 kHz. Each failure wraps one of the ErrBad*/ErrNo* sentinels with a
// short reason for the client.
func parseOffer(raw string) (offerInfo, error) {
	if strings.TrimSpace(raw) == "" {
		return offerInfo{}, fmt.Errorf("%w: empty body", ErrBadOffer)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(raw); err != nil {
		return offerInfo{}, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return offerInfo{}, fmt.Errorf("%w: no m-lines", ErrNoAudio)
	}
	sawAudio := false
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		sawAudio = true
		if !offersOpus(md) {
			continue
		}
		return offerInfo{audioDir: direction(md)}, nil
	}
	if !sawAudio {
		return offerInfo{}, ErrNoAudio
	}
	return offerInfo{}, ErrNoUsableCodec
}

func offersOpus(md *sdp.MediaDescription) bool {
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		// "111 opus/48000/2"
		_, enc, ok := strings.Cut(a.Value, " ")
		if ok && strings.HasPrefix(strings.ToLower(enc), "opus/48000") {
			return true
		}
	}
	return false
}

func direction(md *sdp.MediaDescription) string {
	for _, a := range md.Attributes {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return "sendrecv" // RFC 4566 default
}

// inactivateVideo rewrites the direction of every video m-line of an answer
// to inactive: video is negotiated (so the m-line stays usable for a later
// renegotiation) but no video flows until the MCU composes video.
func inactivateVideo(answer string) (string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return "", err
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" || md.MediaName.Port.Value == 0 {
			continue
		}
		attrs := md.Attributes[:0]
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				continue
			}
			attrs = append(attrs, a)
		}
		md.Attributes = append(attrs, sdp.Attribute{Key: "inactive"})
	}
	out, err := sd.Marshal()
	return string(out), err
}
