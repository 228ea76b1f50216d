package codec

import "github.com/mcu-project/mcu/media"

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
