package transport

import (
	"fmt"
	"slices"
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
	// among those we take, in the offer's order (the offerer's preference).
	videoCodecs []string
	// screenDir is the direction of the second usable video m-line, a
	// screen share's ("" without one).
	screenDir string
	// audioRED: that audio m-line offers RED over Opus (red.go).
	audioRED bool
}

// maxMediaSections bounds the m-lines of an offer: a participant sends
// audio, a camera, a screen and perhaps data; each section costs a
// transceiver, so more is refused before pion sees it.
const maxMediaSections = 4

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
	if n := len(sd.MediaDescriptions); n > maxMediaSections {
		return offerInfo{}, fmt.Errorf("%w: %d media sections (at most %d: audio, camera, screen and data)", ErrBadOffer, n, maxMediaSections)
	}
	var info offerInfo
	sawAudio := false
	for _, md := range sd.MediaDescriptions {
		// Port zero rejects a section, unless it is bundle-only (RFC 8843
		// §6: a max-bundle offerer such as GStreamer's webrtcbin).
		if _, bundleOnly := md.Attribute("bundle-only"); md.MediaName.Port.Value == 0 && !bundleOnly {
			continue
		}
		switch md.MediaName.Media {
		case "audio":
			sawAudio = true
			if info.audioDir == "" && offers(md, "opus/48000") {
				info.audioDir, info.audioRED = direction(md), offersRED(md)
			}
		case "video":
			if info.videoDir != "" {
				if info.screenDir == "" && len(offeredVideo(md)) > 0 {
					info.screenDir = direction(md)
				}
				continue
			}
			if codecs := offeredVideo(md); len(codecs) > 0 {
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

// offeredVideo lists the video codecs we take that md offers, in the order
// of its payload types: VP8, and H.264 in packetization mode 1 (the only
// mode we send: FU-A fragments large NAL units).
func offeredVideo(md *sdp.MediaDescription) []string {
	enc, fmtp := map[string]string{}, map[string]string{}
	for _, a := range md.Attributes {
		pt, v, ok := strings.Cut(a.Value, " ")
		switch {
		case !ok:
		case a.Key == "rtpmap":
			enc[pt] = strings.ToLower(v)
		case a.Key == "fmtp":
			fmtp[pt] = v
		}
	}
	var out []string
	add := func(c string) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, pt := range md.MediaName.Formats {
		switch e := enc[pt]; {
		case strings.HasPrefix(e, "vp8/90000"):
			add("video/vp8")
		case strings.HasPrefix(e, "h264/90000") && slices.Contains(fmtpParams(fmtp[pt]), "packetization-mode=1"):
			add("video/h264")
		}
	}
	return out
}

func fmtpParams(v string) []string {
	var out []string
	for _, kv := range strings.Split(v, ";") {
		out = append(out, strings.TrimSpace(kv))
	}
	return out
}

// chooseVideoCodec returns the offerer's most preferred codec among those
// the room allows, "" if none: the room decides what is allowed, the
// participant (whose offer order is its preference, e.g. a device with a
// hardware H.264 decoder) what it gets.
func (o offerInfo) chooseVideoCodec(allowed []string) string {
	for _, c := range o.videoCodecs {
		for _, a := range allowed {
			if strings.EqualFold(a, c) {
				return a
			}
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

// restrictOffer rewrites the directions of the offer's audio and video
// m-lines to what a token grants, so that the answer says so: without
// publish what the offerer sends is answered as not received (its sendrecv
// becomes recvonly, sendonly inactive), without subscribe nothing is sent
// back (sendrecv becomes sendonly, recvonly inactive).
func restrictOffer(raw string, publish, subscribe bool) (string, error) {
	if publish && subscribe {
		return raw, nil
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(raw); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	for _, md := range sd.MediaDescriptions {
		if m := md.MediaName.Media; m != "audio" && m != "video" {
			continue
		}
		dir := direction(md)
		send, recv := sends(dir) && publish, receives(dir) && subscribe
		attrs := md.Attributes[:0]
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
			default:
				attrs = append(attrs, a)
			}
		}
		md.Attributes = append(attrs, sdp.Attribute{Key: directionOf(send, recv)})
	}
	out, err := sd.Marshal()
	return string(out), err
}

// directionOf names the direction of an offerer that sends and receives
// as given.
func directionOf(send, recv bool) string {
	switch {
	case send && recv:
		return "sendrecv"
	case send:
		return "sendonly"
	case recv:
		return "recvonly"
	}
	return "inactive"
}
