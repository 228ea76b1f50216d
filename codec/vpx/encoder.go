package vpx

/*
#cgo pkg-config: vpx
#include "mcuvpx.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// Encoder settings. See NewEncoder for why.
const (
	// cpuUsed is VP8E_SET_CPUUSED: negative means "this fixed speed" in
	// realtime mode (positive lets libvpx adapt the speed to wall-clock
	// timing, which makes the output depend on machine load). Measured on
	// a moving textured picture: -4 costs twice the CPU of -6; -8 is
	// ~15 % cheaper than -6 for ~1.3 dB less PSNR; -10..-14 are no
	// cheaper within noise and lose more; -16 breaks rate control.
	cpuUsed = -8
	// encoderThreads is g_threads. One: VP8's multi-threaded encoder
	// synchronises rows by spinning, and on a loaded two-core machine two
	// threads made 720p 3-10× slower per frame; an MCU runs many encoders
	// in parallel anyway.
	encoderThreads = 1
	// keyFrameSeconds is the longest automatic keyframe interval; the MCU
	// forces keyframes on demand (PLI/FIR, new receivers).
	keyFrameSeconds = 10
)

// Encoder encodes I420 pictures to VP8 for real-time delivery. It is safe for
// concurrent use.
type Encoder struct {
	mu            sync.Mutex
	c             *C.mcu_vpx_enc // nil once closed
	width, height int
	forceKey      bool
	// active is the map SetActiveMap gave for the next Encode (nil: none);
	// mapOn says libvpx holds a map from an earlier Encode, which it
	// keeps applying until told otherwise.
	active    []byte
	activeBuf []byte // active's storage, reused
	mapOn     bool
}

// NewEncoder returns a VP8 encoder tuned for an MCU's real-time output:
// one-pass CBR with no lookahead (one frame in, one frame out), error
// resilient (receivers lose packets), automatic keyframes at most every
// 10 s (the MCU asks for more on demand), a fixed high speed setting on one
// thread, WebRTC-like rate-control buffers. The rate holds within 10 % over
// any 2 s on the hardest content (codectest.RungsKeepTheirRate): the
// quantizer may go up to 63, frames are dropped only when even that cannot
// meet the rate (the buffer runs below 45 %), and keyframes are capped at
// a tenth of a second's budget (at least 1.5 frames'), so that a forced
// keyframe neither bursts the link nor pushes its 2 s over the rate.
func NewEncoder(p codec.VideoEncoderParams) (*Encoder, error) {
	p, err := codec.ResolveEncoderParams(p, "vp8")
	if err != nil {
		return nil, err
	}
	fps, bps := p.FPS, p.BitrateBps
	// The cap on keyframe size as a percentage of the per-frame budget:
	// 10·fps % is 100 ms of the rate (WebRTC allows 300 ms, which alone
	// takes a rung 15 % over its rate for the 2 s around a keyframe).
	maxIntra := max(10*fps, 150)
	c := C.mcu_vpx_enc_new(C.mcu_vpx_enc_params{
		width:         C.uint(p.Width),
		height:        C.uint(p.Height),
		fps:           C.uint(fps),
		kbps:          C.uint(kbps(bps)),
		threads:       C.uint(encoderThreads),
		cpu_used:      C.int(cpuUsed),
		kf_max_dist:   C.uint(keyFrameSeconds * fps),
		max_intra_pct: C.uint(maxIntra),
	})
	if c == nil {
		return nil, fmt.Errorf("vpx: new encoder: out of memory")
	}
	if c.init_err != C.VPX_CODEC_OK {
		err := fmt.Errorf("vpx: new encoder: %s", C.GoString(C.vpx_codec_err_to_string(c.init_err)))
		C.mcu_vpx_enc_free(c)
		return nil, err
	}
	return &Encoder{c: c, width: p.Width, height: p.Height}, nil
}

func kbps(bps int) int { return max((bps+500)/1000, 1) }

// Encode implements codec.VideoEncoder. f must have the size the encoder was
// created with. The encoded frame is appended to dst[:0]; when dst has the
// capacity (a few hundred kB covers any keyframe at 720p) Encode does not
// allocate.
//
// f's planes are handed to libvpx for the duration of the call only: with no
// lookahead the encoder consumes (copies) the picture before returning.
func (e *Encoder) Encode(f *media.VideoFrame, dst []byte) (out []byte, keyframe bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return dst[:0], false, codec.ErrClosed
	}
	if err := e.checkFrameLocked(f); err != nil {
		return dst[:0], false, err
	}
	if err := e.applyActiveMapLocked(); err != nil {
		return dst[:0], false, err
	}
	rc := C.mcu_vpx_enc_encode(e.c,
		(*C.uint8_t)(unsafe.Pointer(&f.Y[0])), C.int(f.StrideY),
		(*C.uint8_t)(unsafe.Pointer(&f.U[0])), C.int(f.StrideU),
		(*C.uint8_t)(unsafe.Pointer(&f.V[0])), C.int(f.StrideV),
		boolInt(e.forceKey))
	if rc != C.VPX_CODEC_OK {
		return dst[:0], false, fmt.Errorf("vpx: encode: %s", C.GoString(C.mcu_vpx_enc_error(e.c)))
	}
	out = dst[:0]
	if e.c.out_pkts == 0 || e.c.out_len == 0 {
		return out, false, nil // dropped by rate control
	}
	// The packet is libvpx memory, valid until the next encode call.
	out = append(out, unsafe.Slice((*byte)(e.c.out), int(e.c.out_len))...)
	keyframe = e.c.out_key != 0
	if keyframe {
		e.forceKey = false
	}
	return out, keyframe, nil
}

// applyActiveMapLocked hands libvpx the map for this Encode: the one
// SetActiveMap gave, or none (every macroblock) if it gave none or a
// keyframe is forced.
func (e *Encoder) applyActiveMapLocked() error {
	use := e.active != nil && !e.forceKey
	if !use && !e.mapOn {
		return nil
	}
	var m *C.uchar
	if use {
		m = (*C.uchar)(unsafe.Pointer(&e.active[0]))
	}
	cols, rows := mbs(e.width), mbs(e.height)
	rc := C.mcu_vpx_enc_set_active_map(e.c, m, C.uint(rows), C.uint(cols))
	e.active = nil
	if rc != C.VPX_CODEC_OK {
		return fmt.Errorf("vpx: set active map: %s", C.GoString(C.mcu_vpx_enc_error(e.c)))
	}
	e.mapOn = use
	return nil
}

// mbs is how many macroblocks cover n pixels.
func mbs(n int) int { return (n + codec.MacroblockSize - 1) / codec.MacroblockSize }

// SetActiveMap implements codec.ActiveMapEncoder.
func (e *Encoder) SetActiveMap(active []byte, cols, rows int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return codec.ErrClosed
	}
	if active == nil {
		e.active = nil
		return nil
	}
	if cols != mbs(e.width) || rows != mbs(e.height) || len(active) != cols*rows {
		return fmt.Errorf("%w: vp8 active map %d×%d (%d entries) for %d×%d macroblocks", codec.ErrBadInput, cols, rows, len(active), mbs(e.width), mbs(e.height))
	}
	e.active = append(e.activeBuf[:0], active...)
	e.activeBuf = e.active
	return nil
}

// checkFrameLocked verifies f before C reads it.
func (e *Encoder) checkFrameLocked(f *media.VideoFrame) error {
	return codec.CheckEncoderFrame(f, e.width, e.height, "vp8")
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ForceKeyFrame implements codec.KeyFrameController: the next encoded frame
// is a keyframe. Rate-limiting requests is the caller's job. No-op after
// Close.
func (e *Encoder) ForceKeyFrame() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c != nil {
		e.forceKey = true
	}
}

// SetBitrate implements codec.BitrateController (target in bits per
// second, applied from the next frame).
func (e *Encoder) SetBitrate(bps int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return codec.ErrClosed
	}
	if bps <= 0 {
		return fmt.Errorf("%w: vp8 bitrate %d", codec.ErrBadInput, bps)
	}
	if rc := C.mcu_vpx_enc_set_kbps(e.c, C.uint(kbps(bps))); rc != C.VPX_CODEC_OK {
		return fmt.Errorf("vpx: set bitrate %d: %s", bps, C.GoString(C.mcu_vpx_enc_error(e.c)))
	}
	return nil
}

// Close implements codec.VideoEncoder; it is idempotent.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c != nil {
		C.mcu_vpx_enc_free(e.c)
		e.c = nil
	}
	return nil
}

var (
	_ codec.VideoEncoder       = (*Encoder)(nil)
	_ codec.KeyFrameController = (*Encoder)(nil)
	_ codec.BitrateController  = (*Encoder)(nil)
	_ codec.ActiveMapEncoder   = (*Encoder)(nil)
	_ codec.VideoDecoder       = (*Decoder)(nil)
)
