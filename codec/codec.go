// Package codec declares the interfaces every audio and video codec
// implements, the optional capabilities callers discover by type assertion,
// and a registry that maps RTP MIME types to constructors.
//
// Buffers are owned by the caller: decoders write into the PCM slice they are
// given and encoders into the byte slice they are given, so hot paths reuse
// fixed buffers instead of allocating per frame.
package codec

// AudioDecoder turns one encoded packet into 48 kHz mono PCM.
type AudioDecoder interface {
	// Decode decodes payload into pcm and returns the number of samples
	// written. pcm must hold the packet's whole duration (120 ms is the most
	// any supported codec packs into one packet).
	Decode(payload []byte, pcm []int16) (int, error)
	// Close frees the decoder. It is idempotent; use after Close returns
	// ErrClosed.
	Close() error
}

// Concealer is implemented by decoders that can synthesise audio for a lost
// packet from their state (packet-loss concealment). pcm's length is the
// duration to conceal.
type Concealer interface {
	Conceal(pcm []int16) error
}

// FECDecoder is implemented by decoders that can recover a lost packet from
// redundancy carried in the packet that follows it (Opus in-band FEC). pcm's
// length is the duration of the lost packet.
type FECDecoder interface {
	// HasFEC reports whether next can carry redundancy at all (a cheap
	// header check), so callers count real recoveries apart from
	// concealment.
	HasFEC(next []byte) bool
	DecodeFEC(next []byte, pcm []int16) error
}

// AudioEncoder turns 48 kHz mono PCM into packets.
type AudioEncoder interface {
	// Encode encodes pcm (one frame: 20 ms unless the codec says otherwise)
	// into out and returns the number of bytes written. 0 bytes (with DTX,
	// EncoderParams.DTX) means the frame is silence the receiver fills in
	// itself: send nothing.
	Encode(pcm []int16, out []byte) (int, error)
	// Close frees the encoder; idempotent.
	Close() error
}

// BitrateController is implemented by encoders whose target bitrate can be
// changed while running.
type BitrateController interface {
	SetBitrate(bitsPerSecond int) error
}

// LossController is implemented by encoders that add redundancy according
// to the packet loss the receivers report.
type LossController interface {
	SetPacketLossPercent(percent int) error
}
