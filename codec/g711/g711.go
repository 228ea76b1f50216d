// Package g711 adapts ITU-T G.711 (PCMU µ-law and PCMA A-law, 8 kHz) to the
// codec interfaces, for plain-RTP and SIP-gateway phone legs. It is pure Go.
//
// The MCU runs at 48 kHz, so each Decoder upsamples 8→48 kHz and each Encoder
// downsamples 48→8 kHz with a streaming resampler (codec/resample): both
// carry filter state from packet to packet, so one Decoder or Encoder serves
// exactly one stream, in order. Each direction delays the audio by 2 ms.
//
// Decoders also conceal lost packets (codec.Concealer); see Decoder.Conceal.
package g711

import (
	"fmt"
	"sync"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/resample"
	"github.com/mcu-project/mcu/media"
)

// RTP MIME types of G.711.
const (
	MimeTypePCMU = "audio/PCMU"
	MimeTypePCMA = "audio/PCMA"
)

const (
	// ClockRate is G.711's sample rate and RTP clock rate.
	ClockRate = 8000
	// SamplesPerByte is how many 48 kHz samples one G.711 byte becomes.
	SamplesPerByte = media.SampleRate / ClockRate // 6
	// FrameBytes is the size of one 20 ms G.711 frame, what Encode emits.
	FrameBytes = media.FrameSamples / SamplesPerByte // 160
)

// Law selects the companding law.
type Law uint8

const (
	LawUnknown Law = iota
	ULaw           // µ-law, PCMU
	ALaw           // A-law, PCMA
)

// MimeType returns the law's RTP MIME type ("" for LawUnknown).
func (l Law) MimeType() string {
	switch l {
	case ULaw:
		return MimeTypePCMU
	case ALaw:
		return MimeTypePCMA
	}
	return ""
}

// String implements fmt.Stringer.
func (l Law) String() string {
	switch l {
	case ULaw:
		return "µ-law"
	case ALaw:
		return "A-law"
	}
	return "unknown"
}

// Register adds PCMU and PCMA to r, both at an 8000 Hz clock rate.
func Register(r *codec.Registry) error {
	for _, law := range []Law{ULaw, ALaw} {
		err := r.RegisterAudio(codec.AudioCodec{
			MimeType:  law.MimeType(),
			ClockRate: ClockRate,
			NewDecoder: func() (codec.AudioDecoder, error) {
				return NewDecoder(law)
			},
			NewEncoder: func(codec.EncoderParams) (codec.AudioEncoder, error) {
				return NewEncoder(law)
			},
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func checkLaw(l Law) error {
	if l != ULaw && l != ALaw {
		return fmt.Errorf("%w: g711: unknown law %d", codec.ErrBadInput, l)
	}
	return nil
}

// Decoder decodes one G.711 stream to 48 kHz mono. It is safe for
// concurrent use, but the stream's packets must arrive in order.
type Decoder struct {
	mu     sync.Mutex
	rs     *resample.Resampler // 8→48 kHz; nil once closed
	table  *[256]int16
	narrow [FrameBytes]int16         // 8 kHz scratch
	wide   [media.FrameSamples]int16 // 48 kHz scratch for a partial tail
	plc    concealer
}

// NewDecoder returns a decoder for law.
func NewDecoder(law Law) (*Decoder, error) {
	if err := checkLaw(law); err != nil {
		return nil, err
	}
	rs, err := resample.New(ClockRate, media.SampleRate)
	if err != nil {
		return nil, fmt.Errorf("g711: %w", err)
	}
	d := &Decoder{rs: rs, table: &ulawTable}
	if law == ALaw {
		d.table = &alawTable
	}
	return d, nil
}

// Decode implements codec.AudioDecoder: every byte of payload is one 8 kHz
// sample (any byte value is a valid code), and becomes SamplesPerByte samples
// at 48 kHz, so pcm must hold SamplesPerByte·len(payload) samples (960 for
// the usual 160-byte, 20 ms packet). An empty payload is an error.
func (d *Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rs == nil {
		return 0, codec.ErrClosed
	}
	if len(payload) == 0 {
		return 0, fmt.Errorf("%w: empty payload", codec.ErrBadInput)
	}
	want := len(payload) * SamplesPerByte
	if len(pcm) < want {
		return 0, fmt.Errorf("%w: g711: %d bytes need %d samples, pcm holds %d", codec.ErrBadInput, len(payload), want, len(pcm))
	}
	out := pcm[:want]
	for len(payload) > 0 {
		n := min(len(payload), len(d.narrow))
		s := d.narrow[:n]
		for i, b := range payload[:n] {
			s[i] = d.table[b]
		}
		d.plc.received(s)
		out = out[d.rs.Process(s, out):]
		payload = payload[n:]
	}
	return want, nil
}

// Conceal implements codec.Concealer: it fills pcm (any length, at 48 kHz)
// with a stand-in for lost audio. The method is a simplified ITU-T G.711
// Appendix I: at 8 kHz, the last pitch period (40–120 samples, found by
// normalised autocorrelation over the last 20 ms) is repeated, its loop
// point smoothed by a quarter-period overlap-add; the level holds for the
// first 10 ms of a loss, then fades linearly to silence at 60 ms. When
// packets return, the first 4 ms cross-fade from the synthetic signal (or
// from silence) into the real one. Concealed audio runs through the same
// upsampler as decoded audio, so joins have no click.
//
// The decoder's stream advances by ⌈len(pcm)/6⌉ samples at 8 kHz; for a
// len(pcm) that is not a multiple of 6 (never the case for 20 ms frames) the
// surplus 48 kHz samples are dropped, a timing shift under 0.125 ms.
func (d *Decoder) Conceal(pcm []int16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rs == nil {
		return codec.ErrClosed
	}
	for len(pcm) > 0 {
		n := min((len(pcm)+SamplesPerByte-1)/SamplesPerByte, len(d.narrow))
		s := d.narrow[:n]
		d.plc.conceal(s)
		if n*SamplesPerByte <= len(pcm) {
			pcm = pcm[d.rs.Process(s, pcm):]
			continue
		}
		m := d.rs.Process(s, d.wide[:])
		pcm = pcm[copy(pcm, d.wide[:m]):]
	}
	return nil
}

// Close implements codec.AudioDecoder.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rs = nil
	return nil
}

// Encoder encodes 20 ms frames of 48 kHz mono to G.711. It is safe for
// concurrent use, but frames must be given in stream order.
type Encoder struct {
	mu     sync.Mutex
	rs     *resample.Resampler // 48→8 kHz; nil once closed
	law    Law
	narrow [FrameBytes]int16
}

// NewEncoder returns an encoder for law. G.711 has one bitrate (64 kbit/s)
// and no FEC, so there are no parameters.
func NewEncoder(law Law) (*Encoder, error) {
	if err := checkLaw(law); err != nil {
		return nil, err
	}
	rs, err := resample.New(media.SampleRate, ClockRate)
	if err != nil {
		return nil, fmt.Errorf("g711: %w", err)
	}
	return &Encoder{rs: rs, law: law}, nil
}

// Encode implements codec.AudioEncoder: pcm must be exactly one 20 ms frame
// (960 samples at 48 kHz) and out must hold FrameBytes (160) bytes.
func (e *Encoder) Encode(pcm []int16, out []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rs == nil {
		return 0, codec.ErrClosed
	}
	if len(pcm) != media.FrameSamples {
		return 0, fmt.Errorf("%w: want %d samples, got %d", codec.ErrBadInput, media.FrameSamples, len(pcm))
	}
	if len(out) < FrameBytes {
		return 0, fmt.Errorf("%w: g711: out holds %d bytes, need %d", codec.ErrBadInput, len(out), FrameBytes)
	}
	s := e.narrow[:e.rs.Process(pcm, e.narrow[:])]
	out = out[:len(s)]
	if e.law == ULaw {
		for i, v := range s {
			out[i] = EncodeULaw(v)
		}
	} else {
		for i, v := range s {
			out[i] = EncodeALaw(v)
		}
	}
	return len(s), nil
}

// Close implements codec.AudioEncoder.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rs = nil
	return nil
}
