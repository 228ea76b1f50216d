// Package vpx is a small, allocation-free cgo wrapper over libvpx's VP8
// decoder and encoder, adapted to the codec interfaces.
//
// Ownership rules (DESIGN.md §7.4): every libvpx context lives in C memory;
// Go memory (encoded frames to decode, pictures to encode) is passed to C only
// for the duration of one call and never kept by C; Close is idempotent and
// serialised with every other method by a mutex, and any use after Close
// returns codec.ErrClosed.
package vpx

import (
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// MimeType is the RTP MIME type of VP8.
const MimeType = "video/VP8"

// Register adds VP8 to r.
func Register(r *codec.Registry) error {
	return r.RegisterVideo(codec.VideoCodec{
		MimeType:  MimeType,
		ClockRate: media.VideoClockRate,
		NewDecoder: func() (codec.VideoDecoder, error) {
			return NewDecoder()
		},
		NewEncoder: func(p codec.VideoEncoderParams) (codec.VideoEncoder, error) {
			return NewEncoder(p)
		},
	})
}

// keyFrameHeaderLen is the size of a keyframe's uncompressed data chunk:
// the 3-byte frame tag, the 3-byte start code and two 16-bit dimensions
// (RFC 6386 §9.1).
const keyFrameHeaderLen = 10

// IsKeyFrame reports whether frame (a whole VP8 frame, i.e. the RTP payloads
// of one picture without their VP8 payload descriptors) starts with a valid
// keyframe header: bit 0 of the frame tag clear and the start code 9d 01 2a.
// The RTP layer can use it on the first packet of a frame, whose payload
// (after the descriptor) begins with the same bytes.
func IsKeyFrame(frame []byte) bool {
	return len(frame) >= keyFrameHeaderLen && frame[0]&1 == 0 &&
		frame[3] == 0x9d && frame[4] == 0x01 && frame[5] == 0x2a
}

// KeyFrameSize returns the picture size a keyframe declares (RFC 6386
// §9.1, the 14-bit width and height; the 2-bit scaling hints are ignored).
// ok is false when frame is not a keyframe.
func KeyFrameSize(frame []byte) (width, height int, ok bool) {
	if !IsKeyFrame(frame) {
		return 0, 0, false
	}
	width = int(frame[6]) | int(frame[7]&0x3f)<<8
	height = int(frame[8]) | int(frame[9]&0x3f)<<8
	return width, height, true
}
