package transport

import (
	"errors"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// RED (RFC 2198) for the Opus we send, as Chrome does with audio/red: each
// packet may carry the previous frame again, so a receiver recovers a single
// lost packet from the next one. libwebrtc's receiver splits any RED packet,
// one with the primary block alone included, so we always send RED to a
// receiver that negotiated it and add the redundant block only while its
// reported loss is high: on a clean link RED costs one byte a packet.
const (
	redPayloadType = 63
	// redFmtp names Opus (opusPayloadType) as the primary and redundant
	// encoding, as Chrome offers it.
	redFmtp = "111/111"
	// redLoss is the receiver-reported audio loss above which packets
	// carry the previous frame too.
	redLoss = congestedLoss
	// maxRedOffset and maxRedLength are what the 14-bit timestamp offset
	// and the 10-bit block length of a redundant block's header can hold.
	maxRedOffset = 1<<14 - 1
	maxRedLength = 1<<10 - 1
)

// errBadRED is an incoming RED payload whose block headers overrun it.
var errBadRED = errors.New("transport: malformed RED payload")

// redPacketizer builds the RED payloads of one stream: it remembers the
// last frame it sent for the next packet's redundant block. Not safe for
// concurrent use (the room's audio clock is the one writer).
type redPacketizer struct {
	pt     uint8 // the primary and redundant blocks' payload type (Opus)
	prev   []byte
	prevTS uint32
	have   bool
}

// packetize appends to dst the RED payload for frame at RTP time ts: the
// previous frame as a redundant block first when redundant is set and it
// fits the header's fields, then frame as the primary block. It reports
// whether the redundant block went in.
func (r *redPacketizer) packetize(dst, frame []byte, ts uint32, redundant bool) ([]byte, bool) {
	offset := ts - r.prevTS
	withPrev := redundant && r.have && len(r.prev) > 0 && len(r.prev) <= maxRedLength && offset > 0 && offset <= maxRedOffset
	if withPrev {
		// F=1, block PT, 14-bit timestamp offset, 10-bit length.
		dst = append(dst, 0x80|r.pt, byte(offset>>6), byte(offset<<2)|byte(len(r.prev)>>8), byte(len(r.prev)))
	}
	dst = append(dst, r.pt&0x7f) // F=0: the primary block's one-byte header
	if withPrev {
		dst = append(dst, r.prev...)
	}
	dst = append(dst, frame...)
	r.prev = append(r.prev[:0], frame...)
	r.prevTS, r.have = ts, true
	return dst, withPrev
}

// offersRED reports whether an audio m-line offers RED over Opus as we send
// it: red/48000/2 with the fmtp naming our Opus payload type for both
// blocks, and that payload type being Opus.
func offersRED(md *sdp.MediaDescription) bool {
	enc, fmtp := map[string]string{}, map[string]string{}
	for _, a := range md.Attributes {
		pt, v, ok := strings.Cut(a.Value, " ")
		switch {
		case !ok:
		case a.Key == "rtpmap":
			enc[pt] = strings.ToLower(v)
		case a.Key == "fmtp":
			fmtp[pt] = strings.TrimSpace(v)
		}
	}
	if !strings.HasPrefix(enc["111"], "opus/48000") {
		return false
	}
	for pt, e := range enc {
		if strings.HasPrefix(e, "red/48000") && fmtp[pt] == redFmtp {
			return true
		}
	}
	return false
}

// redCapability is the RED codec we register and send a RED track as.
var redCapability = webrtc.RTPCodecCapability{MimeType: mimeTypeRED, ClockRate: 48000, Channels: 2, SDPFmtpLine: redFmtp}

// mimeTypeRED is audio/red (pion has no constant for it).
const mimeTypeRED = "audio/red"

// redPrimary returns the primary block of a RED payload: what a sender
// that prefers RED (it may list red first in its offer) sends as its
// current frame. We take no recovery from the redundant blocks: the
// playout buffer conceals or FEC-decodes a loss as for plain Opus.
func redPrimary(payload []byte) ([]byte, bool) {
	skip, i := 0, 0
	for {
		switch {
		case i >= len(payload):
			return nil, false
		case payload[i]&0x80 == 0:
			i++
			if i+skip > len(payload) {
				return nil, false
			}
			return payload[i+skip:], true
		case i+4 > len(payload):
			return nil, false
		}
		skip += int(payload[i+2]&3)<<8 | int(payload[i+3])
		i += 4
	}
}

// redPayloadTypeOf returns the payload type receiver negotiated for RED, if
// any.
func redPayloadTypeOf(receiver *webrtc.RTPReceiver) (uint8, bool) {
	for _, c := range receiver.GetParameters().Codecs {
		if strings.EqualFold(c.MimeType, mimeTypeRED) {
			return uint8(c.PayloadType), true
		}
	}
	return 0, false
}

// opusFirst answers Opus before RED on the audio m-lines, whatever the
// offer's order: an offerer sends the first codec of the answer, and the
// room decodes Opus (redPrimary still unwraps a sender that picks RED).
func opusFirst(pc *webrtc.PeerConnection) error {
	for _, t := range pc.GetTransceivers() {
		if t.Kind() != webrtc.RTPCodecTypeAudio {
			continue
		}
		codecs := t.Receiver().GetParameters().Codecs
		sorted := slices.Clone(codecs)
		slices.SortStableFunc(sorted, func(a, b webrtc.RTPCodecParameters) int {
			return isOpus(b) - isOpus(a)
		})
		if slices.EqualFunc(codecs, sorted, func(a, b webrtc.RTPCodecParameters) bool { return a.PayloadType == b.PayloadType }) {
			continue
		}
		if err := t.SetCodecPreferences(sorted); err != nil {
			return err
		}
	}
	return nil
}

func isOpus(c webrtc.RTPCodecParameters) int {
	if strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus) {
		return 1
	}
	return 0
}
