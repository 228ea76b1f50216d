// Package aac is a small cgo wrapper over libavcodec's native AAC
// encoder (AAC-LC at a constant bitrate), for the live outputs that need
// AAC (RTMP), and over its decoder, which checks it.
package aac

/*
#cgo pkg-config: libavcodec libavutil
#include "mcuaac.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/mcu-project/mcu/codec"
)

// maxPacket bounds one AAC frame (6144 bits per channel at most).
const maxPacket = 1536

// Encoder encodes 48 kHz int16 PCM to raw AAC frames. Safe for
// concurrent use.
type Encoder struct {
	mu       sync.Mutex
	c        *C.mcu_aac_enc // nil once closed
	channels int
	frame    int
	config   []byte
	out      [maxPacket]byte
}

// NewEncoder opens an AAC-LC encoder.
func NewEncoder(rate, channels, bitrate int) (*Encoder, error) {
	if rate <= 0 || channels < 1 || channels > 2 || bitrate <= 0 {
		return nil, fmt.Errorf("%w: aac %d Hz, %d channels, %d b/s", codec.ErrBadInput, rate, channels, bitrate)
	}
	c := C.mcu_aac_enc_new(C.int(rate), C.int(channels), C.int(bitrate))
	if c == nil {
		return nil, fmt.Errorf("aac: out of memory")
	}
	if c.init_err != 0 {
		err := fmt.Errorf("aac: opening the encoder: error %d", int(c.init_err))
		C.mcu_aac_enc_free(c)
		return nil, err
	}
	e := &Encoder{c: c, channels: channels, frame: int(C.mcu_aac_enc_frame_size(c))}
	var asc [64]byte
	n := C.mcu_aac_enc_config(c, (*C.uint8_t)(unsafe.Pointer(&asc[0])), C.int(len(asc)))
	if n <= 0 {
		C.mcu_aac_enc_free(c)
		return nil, fmt.Errorf("aac: no AudioSpecificConfig")
	}
	e.config = append([]byte(nil), asc[:n]...)
	return e, nil
}

// FrameSamples is the samples (per channel) of one AAC frame: 1024.
func (e *Encoder) FrameSamples() int { return e.frame }

// Config is the AudioSpecificConfig that goes with the frames.
func (e *Encoder) Config() []byte { return e.config }

// Encode takes interleaved PCM and calls emit with every AAC frame it
// completes and the time of its first sample, in samples from the first
// one given (the encoder's priming makes the first frames' negative).
// au is valid only during the call.
func (e *Encoder) Encode(pcm []int16, emit func(au []byte, pts int64)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return codec.ErrClosed
	}
	for len(pcm) >= e.channels {
		var size C.int
		var pts C.int64_t
		n := C.mcu_aac_enc_push(e.c, (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)/e.channels),
			(*C.uint8_t)(unsafe.Pointer(&e.out[0])), C.int(len(e.out)), &size, &pts)
		if n < 0 {
			return fmt.Errorf("aac: encoding: error %d", int(n))
		}
		if size > 0 {
			emit(e.out[:size], int64(pts))
		}
		pcm = pcm[int(n)*e.channels:]
	}
	return nil
}

// Close frees the encoder; idempotent.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c != nil {
		C.mcu_aac_enc_free(e.c)
		e.c = nil
	}
	return nil
}

// Decoder decodes raw AAC frames (the first channel) to int16 PCM. Safe
// for concurrent use.
type Decoder struct {
	mu sync.Mutex
	c  *C.mcu_aac_dec
}

// NewDecoder opens a decoder for frames described by config (an
// AudioSpecificConfig).
func NewDecoder(config []byte) (*Decoder, error) {
	if len(config) == 0 || len(config) > 64 {
		return nil, fmt.Errorf("%w: AudioSpecificConfig of %d bytes", codec.ErrBadInput, len(config))
	}
	c := C.mcu_aac_dec_new((*C.uint8_t)(unsafe.Pointer(&config[0])), C.int(len(config)))
	if c == nil {
		return nil, fmt.Errorf("aac: out of memory")
	}
	if c.init_err != 0 {
		err := fmt.Errorf("%w: aac decoder: error %d", codec.ErrBadInput, int(c.init_err))
		C.mcu_aac_dec_free(c)
		return nil, err
	}
	return &Decoder{c: c}, nil
}

// Decode decodes one frame into pcm and returns the samples written.
func (d *Decoder) Decode(au []byte, pcm []int16) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return 0, codec.ErrClosed
	}
	if len(au) == 0 || len(pcm) == 0 {
		return 0, nil
	}
	n := C.mcu_aac_dec_decode(d.c, (*C.uint8_t)(unsafe.Pointer(&au[0])), C.int(len(au)), (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
	if n < 0 {
		return 0, fmt.Errorf("%w: aac frame: error %d", codec.ErrBadInput, int(n))
	}
	return int(n), nil
}

// Close frees the decoder; idempotent.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		C.mcu_aac_dec_free(d.c)
		d.c = nil
	}
	return nil
}
