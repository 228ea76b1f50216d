package transport

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// offerInfo is what we need to know about an offer before pion sees it.
type offerInfo struct {
	// audioDir and videoDir are the directions of the first usable audio
	// and video m-lines from the offerer's point of view: sendrecv,
	// sendonly, recvonly or inactive; videoDir is "" without a video
	// m-line that offers VP8.
	audioDir, videoDir string
}

func receives(dir string) bool { return dir == "sendrecv" || dir == "recvonly" }
func sends(dir string) bool    { return dir == "sendrecv" || dir == "sendonly" }

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
	var info offerInfo
	sawAudio := false
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue
		}
		switch md.MediaName.Media {
		case "audio":
			sawAudio = true
			if info.audioDir == "" && offers(md, "opus/48000") {
				info.audioDir = direction(md)
			}
		case "video":
			if info.videoDir == "" && offers(md, "vp8/90000") {
				info.videoDir = direction(md)
			}
		}
	}
	switch {
	case !sawAudio:
		return offerInfo{}, ErrNoAudio
	case info.audioDir == "":
		return offerInfo{}, ErrNoUsableCodec
	}
	return info, nil
}

// offers reports whether md has an rtpmap for encoding (lower case,
// "name/rate"), e.g. "111 opus/48000/2".
func offers(md *sdp.MediaDescription, encoding string) bool {
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		_, enc, ok := strings.Cut(a.Value, " ")
		if ok && strings.HasPrefix(strings.ToLower(enc), encoding) {
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
