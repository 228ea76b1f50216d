// Package opus adapts libopus (through gopkg.in/hraban/opus.v2) to the codec
// interfaces: 48 kHz mono in and out, packet-loss concealment and in-band
// FEC on decode, bitrate and loss-driven FEC control on encode.
package opus

import (
	"errors"
	"fmt"
	"sync"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
	hopus "gopkg.in/hraban/opus.v2"
)

// MimeType is the RTP MIME type of Opus.
const MimeType = "audio/opus"

// DefaultBitrate suits a mixed conference in mono: speech stays transparent
// and music in the mix is still fine.
const DefaultBitrate = 40000

// InitialLossPercent is the loss an encoder with FEC expects until
// receivers report the real figure: FEC is only emitted when the encoder
// expects loss, so it starts with a modest one.
const InitialLossPercent = 5

// MaxPacketSamples is the longest Opus packet (120 ms) at 48 kHz; decode
// buffers of this size accept any valid packet.
const MaxPacketSamples = 120 * media.SampleRate / 1000

// Register adds Opus to r.
func Register(r *codec.Registry) error {
	return r.RegisterAudio(codec.AudioCodec{
		MimeType:  MimeType,
		ClockRate: media.SampleRate,
		NewDecoder: func() (codec.AudioDecoder, error) {
			return NewDecoder()
		},
		NewEncoder: func(p codec.EncoderParams) (codec.AudioEncoder, error) {
			return NewEncoder(p)
		},
	})
}

// Decoder decodes Opus to 48 kHz mono (libopus downmixes stereo streams).
type Decoder struct {
	mu  sync.Mutex
	dec *hopus.Decoder // nil once closed
}

// NewDecoder returns a mono 48 kHz decoder.
func NewDecoder() (*Decoder, error) {
	d, err := hopus.NewDecoder(media.SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("opus: new decoder: %w", err)
	}
	return &Decoder{dec: d}, nil
}

// exact returns pcm with its capacity cut to its length: hraban/opus sizes
// its output by cap(pcm), and PLC/FEC must produce exactly len(pcm) samples.
func exact(pcm []int16) []int16 { return pcm[:len(pcm):len(pcm)] }

// Decode implements codec.AudioDecoder.
func (d *Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dec == nil {
		return 0, codec.ErrClosed
	}
	if len(payload) == 0 || len(pcm) == 0 {
		return 0, fmt.Errorf("%w: empty payload or buffer", codec.ErrBadInput)
	}
	n, err := d.dec.Decode(payload, exact(pcm))
	if err != nil {
		return 0, fmt.Errorf("%w: opus decode: %w", codec.ErrBadInput, err)
	}
	return n, nil
}

// Conceal implements codec.Concealer with libopus PLC, which conceals
// whole 2.5 ms steps up to 120 ms: other lengths are bad input, as in
// Decode and DecodeFEC.
func (d *Decoder) Conceal(pcm []int16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dec == nil {
		return codec.ErrClosed
	}
	if len(pcm) == 0 {
		return nil
	}
	if err := d.dec.DecodePLC(exact(pcm)); err != nil {
		return fmt.Errorf("%w: opus plc of %d samples: %w", codec.ErrBadInput, len(pcm), err)
	}
	return nil
}

// DecodeFEC implements codec.FECDecoder: it recovers the packet before next
// from next's in-band redundancy (libopus falls back to PLC without it).
func (d *Decoder) DecodeFEC(next []byte, pcm []int16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dec == nil {
		return codec.ErrClosed
	}
	if len(next) == 0 || len(pcm) == 0 {
		return fmt.Errorf("%w: empty payload or buffer", codec.ErrBadInput)
	}
	if err := d.dec.DecodeFEC(next, exact(pcm)); err != nil {
		return fmt.Errorf("%w: opus fec: %w", codec.ErrBadInput, err)
	}
	return nil
}

// HasFEC implements codec.FECDecoder. In-band FEC lives in the SILK layer,
// so only SILK-only and hybrid packets (TOC configurations 0-15, RFC 6716
// §3.1) can carry it; a CELT-only packet never does.
func (d *Decoder) HasFEC(next []byte) bool {
	return len(next) > 0 && next[0]>>3 < 16
}

// Close implements codec.AudioDecoder.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dec = nil
	return nil
}

// Encoder encodes 20 ms mono 48 kHz frames.
type Encoder struct {
	mu  sync.Mutex
	enc *hopus.Encoder // nil once closed
	dtx bool
}

// NewEncoder returns a VoIP-tuned mono encoder.
func NewEncoder(p codec.EncoderParams) (*Encoder, error) {
	e, err := hopus.NewEncoder(media.SampleRate, 1, hopus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("opus: new encoder: %w", err)
	}
	rate := p.BitrateBps
	if rate == 0 {
		rate = DefaultBitrate
	}
	errs := []error{e.SetBitrate(rate), e.SetInBandFEC(p.FEC)}
	if p.Complexity != 0 {
		errs = append(errs, e.SetComplexity(p.Complexity))
	}
	if p.DTX {
		errs = append(errs, e.SetDTX(true))
	}
	if p.FEC {
		errs = append(errs, e.SetPacketLossPerc(InitialLossPercent))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("opus: configure encoder: %w", err)
	}
	return &Encoder{enc: e, dtx: p.DTX}, nil
}

// Encode implements codec.AudioEncoder.
func (e *Encoder) Encode(pcm []int16, out []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return 0, codec.ErrClosed
	}
	if len(pcm) != media.FrameSamples || len(out) == 0 {
		return 0, fmt.Errorf("%w: want %d samples, got %d", codec.ErrBadInput, media.FrameSamples, len(pcm))
	}
	n, err := e.enc.Encode(pcm, out)
	if err != nil {
		return 0, fmt.Errorf("opus: encode: %w", err)
	}
	if e.dtx && n <= 2 {
		// libopus's DTX frames (a TOC byte, at most one more): "does not
		// need to be transmitted" (opus_encode's documentation).
		return 0, nil
	}
	return n, nil
}

// SetBitrate implements codec.BitrateController.
func (e *Encoder) SetBitrate(bps int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return codec.ErrClosed
	}
	return e.enc.SetBitrate(bps)
}

// SetPacketLossPercent implements codec.LossController.
func (e *Encoder) SetPacketLossPercent(p int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return codec.ErrClosed
	}
	return e.enc.SetPacketLossPerc(min(max(p, 0), 100))
}

// Close implements codec.AudioEncoder.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.enc = nil
	return nil
}

// Mode is an Opus packet's coding mode (RFC 6716 section 3.1).
type Mode int

const (
	ModeSILK Mode = iota
	ModeHybrid
	ModeCELT
)

// PacketMode is the mode of a packet from its first (TOC) byte. What an
// encoder costs depends on it: libopus encodes a hybrid frame in about 4×
// the time of a CELT-only one, and which it picks for each frame follows
// its speech/music analysis of the signal and its bitrate.
func PacketMode(toc byte) Mode {
	switch c := toc >> 3; {
	case c < 12:
		return ModeSILK
	case c < 16:
		return ModeHybrid
	default:
		return ModeCELT
	}
}
