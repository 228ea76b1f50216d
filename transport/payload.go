package transport

import (
	"fmt"
	"strings"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

func formatFor(mimeType string) (payloadFormat, error) {
	switch strings.ToLower(mimeType) {
	case strings.ToLower(webrtc.MimeTypeVP8):
		return vp8Format{}, nil
	case strings.ToLower(webrtc.MimeTypeH264):
		return h264Format{}, nil
	}
	return nil, fmt.Errorf("transport: no RTP payload format for %q", mimeType)
}

// vp8Format is RFC 7741: a payload descriptor before each piece of frame.
type vp8Format struct{}

func (vp8Format) isStart(payload []byte) bool {
	var p codecs.VP8Packet
	_, err := p.Unmarshal(payload)
	return err == nil && p.S == 1 && p.PID == 0
}

func (vp8Format) assemble(dst []byte, payloads [][]byte) ([]byte, error) {
	var p codecs.VP8Packet
	for _, pl := range payloads {
		data, err := p.Unmarshal(pl)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadPayload, err)
		}
		dst = append(dst, data...)
	}
	return dst, nil
}

// isKeyFrame reads the frame-type bit of a VP8 frame (RFC 6386 §9.1).
func (vp8Format) isKeyFrame(frame []byte) bool { return len(frame) >= 3 && frame[0]&1 == 0 }

// h264Format is RFC 6184 packetization mode 1: single NAL units, STAP-A
// aggregates and FU-A fragments, assembled into an Annex-B access unit.
type h264Format struct{}

const (
	nalSTAPA = 24
	nalFUA   = 28
	nalIDR   = 5
)

var annexBStart = []byte{0, 0, 0, 1}

func (h264Format) isStart(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	switch t := payload[0] & 0x1f; {
	case t == nalFUA:
		return len(payload) > 1 && payload[1]&0x80 != 0 // FU header S bit
	case t >= 1 && t <= nalSTAPA:
		return true
	}
	return false // FU-B, MTAP, reserved: not in mode 1
}

func (h264Format) assemble(dst []byte, payloads [][]byte) ([]byte, error) {
	inFU := false
	for _, pl := range payloads {
		if len(pl) == 0 {
			return nil, errBadPayload
		}
		switch t := pl[0] & 0x1f; {
		case t >= 1 && t < nalSTAPA:
			if inFU {
				return nil, fmt.Errorf("%w: NAL unit inside a fragmented one", errBadPayload)
			}
			dst = append(append(dst, annexBStart...), pl...)
		case t == nalSTAPA:
			if inFU {
				return nil, fmt.Errorf("%w: STAP-A inside a fragmented NAL unit", errBadPayload)
			}
			if len(pl) < 4 {
				return nil, fmt.Errorf("%w: STAP-A without NAL units", errBadPayload)
			}
			for rest := pl[1:]; len(rest) > 0; {
				if len(rest) < 2 {
					return nil, fmt.Errorf("%w: truncated STAP-A", errBadPayload)
				}
				size := int(rest[0])<<8 | int(rest[1])
				if size == 0 || len(rest) < 2+size {
					return nil, fmt.Errorf("%w: STAP-A unit of %d bytes", errBadPayload, size)
				}
				dst = append(append(dst, annexBStart...), rest[2:2+size]...)
				rest = rest[2+size:]
			}
		case t == nalFUA:
			if len(pl) < 3 {
				return nil, fmt.Errorf("%w: truncated FU-A", errBadPayload)
			}
			start, end := pl[1]&0x80 != 0, pl[1]&0x40 != 0
			switch {
			case start && !inFU:
				// Rebuild the NAL header: F and NRI from the indicator,
				// the type from the FU header.
				dst = append(append(dst, annexBStart...), pl[0]&0xe0|pl[1]&0x1f)
				inFU = true
			case start || !inFU:
				return nil, fmt.Errorf("%w: FU-A fragments out of order", errBadPayload)
			}
			dst = append(dst, pl[2:]...)
			if end {
				inFU = false
			}
		default:
			return nil, fmt.Errorf("%w: NAL type %d not allowed in packetization mode 1", errBadPayload, t)
		}
	}
	if inFU {
		return nil, fmt.Errorf("%w: unfinished FU-A", errBadPayload)
	}
	return dst, nil
}

// isKeyFrame reports whether an Annex-B access unit holds an IDR slice.
func (h264Format) isKeyFrame(frame []byte) bool {
	for i := 0; i+4 < len(frame); i++ {
		if frame[i] == 0 && frame[i+1] == 0 && frame[i+2] == 1 && frame[i+3]&0x1f == nalIDR {
			return true
		}
	}
	return false
}
