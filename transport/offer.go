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
	// m-line that offers a codec we take.
	audioDir, videoDir string
	// videoCodecs are the MIME types (lower case) that video m-line offers
	// among those we take.
	videoCodecs map[string]bool
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
			if info.videoDir != "" {
				continue
			}
			codecs := map[string]bool{}
			if offers(md, "vp8/90000") {
				codecs["video/vp8"] = true
			}
			if offersH264Mode1(md) {
				codecs["video/h264"] = true
			}
			if len(codecs) > 0 {
				info.videoDir, info.videoCodecs = direction(md), codecs
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

// offersH264Mode1 reports whether md offers H.264 in packetization mode 1
// (the only mode we send: FU-A fragments large NAL units).
func offersH264Mode1(md *sdp.MediaDescription) bool {
	pts := map[string]bool{}
	for _, a := range md.Attributes {
		if pt, enc, ok := strings.Cut(a.Value, " "); a.Key == "rtpmap" && ok && strings.HasPrefix(strings.ToLower(enc), "h264/90000") {
			pts[pt] = true
		}
	}
	for _, a := range md.Attributes {
		if pt, params, ok := strings.Cut(a.Value, " "); a.Key == "fmtp" && ok && pts[pt] {
			for _, kv := range strings.Split(params, ";") {
				if strings.TrimSpace(kv) == "packetization-mode=1" {
					return true
				}
			}
		}
	}
	return false
}

// chooseVideoCodec returns the first codec of preference that the offer
// has, "" if none.
func (o offerInfo) chooseVideoCodec(preference []string) string {
	for _, c := range preference {
		if o.videoCodecs[strings.ToLower(c)] {
			return c
		}
	}
	return ""
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
