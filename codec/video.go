package codec

import (
	"fmt"
	"math"

	"github.com/mcu-project/mcu/media"
)

// VideoDecoder turns complete encoded frames (as reassembled from RTP) into
// I420 pictures.
type VideoDecoder interface {
	// Decode decodes one encoded frame. It returns the picture, owned by
	// the decoder and valid until the next Decode or Close, or nil when the
	// frame produced no picture (e.g. it was dropped by the decoder). A
	// frame that needs a reference the decoder lacks returns an error
	// wrapping ErrNeedKeyFrame.
	Decode(frame []byte) (*media.VideoFrame, error)
	Close() error
}

// VideoEncoder turns I420 pictures into encoded frames.
type VideoEncoder interface {
	// Encode encodes f (of the size the encoder was created for) and
	// appends the encoded frame to dst[:0], returning it and whether it is
	// a keyframe. An empty result means the encoder dropped the frame
	// (rate control).
	Encode(f *media.VideoFrame, dst []byte) (out []byte, keyframe bool, err error)
	Close() error
}

// KeyFrameController is implemented by video encoders that can be asked to
// make the next frame a keyframe (a receiver's PLI/FIR, a new receiver).
type KeyFrameController interface {
	ForceKeyFrame()
}

// ActiveMapEncoder is implemented by video encoders that can skip the parts
// of a picture that did not change (libvpx's VP8 active map): the caller
// knows what it drew anew since the frame it last encoded.
type ActiveMapEncoder interface {
	// SetActiveMap says which 16×16 macroblocks of the next Encode's
	// picture may differ from the previously encoded one: active has
	// cols×rows entries, row by row, nonzero for "encode"; the others are
	// sent as unchanged. nil makes every macroblock active (a keyframe
	// encodes everything anyway). It applies to the next Encode only.
	SetActiveMap(active []byte, cols, rows int) error
}

// MacroblockSize is the side of the square blocks an ActiveMapEncoder's
// map describes (VP8's and H.264's macroblocks).
const MacroblockSize = 16

// VideoEncoderParams are the settings a video encoder starts with.
type VideoEncoderParams struct {
	Width, Height int
	FPS           int
	BitrateBps    int // 0 = codec default for the size
}

// VideoCodec describes one video codec as negotiated over RTP.
type VideoCodec struct {
	MimeType   string // e.g. "video/VP8"
	ClockRate  int    // 90000
	NewDecoder func() (VideoDecoder, error)
	NewEncoder func(VideoEncoderParams) (VideoEncoder, error)
}

// DefaultVideoFPS is used when VideoEncoderParams.FPS is 0.
const DefaultVideoFPS = 30

// MaxDecodeWidth, MaxDecodeHeight and MaxDecodePixels bound the pictures
// video decoders accept. A stream may declare far larger ones (VP8 up to
// 16383×16383), which would make the decoder allocate gigabytes of
// reference frames on behalf of one remote sender; decoders reject them
// before the C library sees them.
const (
	MaxDecodeWidth  = 4096
	MaxDecodeHeight = 4096
	MaxDecodePixels = 4096 * 2304
)

// DefaultVideoBitrate is the target bitrate for VideoEncoderParams.BitrateBps
// 0: 1.5 Mb/s at 1280×720@30, scaled by pixel count to the 2/3 power (about
// 600 kb/s at 640×360) and by the square root of the frame rate, clamped to
// [100 kb/s, 8 Mb/s].
func DefaultVideoBitrate(width, height, fps int) int {
	if fps <= 0 {
		fps = DefaultVideoFPS
	}
	px := float64(width) * float64(height) / (1280 * 720)
	bps := 1.5e6 * math.Pow(px, 2.0/3) * math.Sqrt(float64(fps)/30)
	return int(min(max(bps, 100e3), 8e6))
}

// CheckEncoderFrame verifies that f is width×height and that its planes
// hold every row an encoder reads, so C code never reads past a slice.
// name labels the encoder in the error.
func CheckEncoderFrame(f *media.VideoFrame, width, height int, name string) error {
	if f == nil {
		return fmt.Errorf("%w: nil frame", ErrBadInput)
	}
	if f.Width != width || f.Height != height {
		return fmt.Errorf("%w: %dx%d frame to a %dx%d %s encoder", ErrBadInput, f.Width, f.Height, width, height, name)
	}
	w, h := f.Width, f.Height
	cw, ch := f.ChromaWidth(), f.ChromaHeight()
	if f.StrideY < w || f.StrideU < cw || f.StrideV < cw ||
		len(f.Y) < (h-1)*f.StrideY+w || len(f.U) < (ch-1)*f.StrideU+cw || len(f.V) < (ch-1)*f.StrideV+cw {
		return fmt.Errorf("%w: %dx%d frame with short planes or strides", ErrBadInput, w, h)
	}
	return nil
}

// MaxEncodeSize is the largest canvas width or height encoders accept, as
// for media.NewVideoFrame.
const MaxEncodeSize = 8192

// ResolveEncoderParams validates p for an encoder called name and fills in
// the defaults: DefaultVideoFPS for FPS 0, DefaultVideoBitrate for
// BitrateBps 0.
func ResolveEncoderParams(p VideoEncoderParams, name string) (VideoEncoderParams, error) {
	if p.Width <= 0 || p.Height <= 0 || p.Width > MaxEncodeSize || p.Height > MaxEncodeSize {
		return p, fmt.Errorf("%w: %s encoder size %dx%d", ErrBadInput, name, p.Width, p.Height)
	}
	if p.FPS == 0 {
		p.FPS = DefaultVideoFPS
	}
	if p.FPS < 0 || p.FPS > 240 {
		return p, fmt.Errorf("%w: %s encoder frame rate %d", ErrBadInput, name, p.FPS)
	}
	if p.BitrateBps == 0 {
		p.BitrateBps = DefaultVideoBitrate(p.Width, p.Height, p.FPS)
	}
	if p.BitrateBps < 0 {
		return p, fmt.Errorf("%w: %s encoder bitrate %d", ErrBadInput, name, p.BitrateBps)
	}
	return p, nil
}
