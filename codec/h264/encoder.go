package h264

/*
#cgo pkg-config: libavcodec libavutil
#include "mcuh264.h"
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
	// preset is x264's speed/quality preset. Measured single-threaded
	// with tune zerolatency at 1.5 Mb/s on 720p30 (ffmpeg's mandelbrot
	// zoom; P-frame luma PSNR, CPU per frame): ultrafast 31.4 dB, 6 ms;
	// superfast 33.4 dB, 8 ms; veryfast 33.5 dB, 12 ms; faster 34.0 dB,
	// 24 ms. On testsrc2: 37.3, 37.9, 38.4 dB for the first three.
	// superfast keeps nearly all of veryfast's quality for two thirds of
	// its cost; ultrafast (no deblocking, no sub-pel refinement) saves a
	// quarter more but loses 2 dB.
	preset = "superfast"
	// encoderThreads is the number of x264 threads. One: an MCU runs many
	// encoders in parallel, so total CPU is what counts. With tune
	// zerolatency more threads are sliced threads (one slice per thread);
	// two cost about 6 % more CPU at 720p for the same PSNR, and give
	// receivers two slices per picture.
	encoderThreads = 1
	// keyFrameSeconds is the longest automatic keyframe interval; the MCU
	// forces keyframes on demand (PLI/FIR, new receivers).
	keyFrameSeconds = 10
	// vbvMillis is the rate-control buffer: how far above the target a
	// burst (a forced keyframe) may go before x264 raises the quantizer.
	vbvMillis = 500
	// x264Params: no scene-cut keyframes (a layout change is cheaper as a
	// P picture than as an IDR every receiver must take), Annex-B output
	// with SPS/PPS in front of every IDR.
	x264Params = "scenecut=0:annexb=1:repeat-headers=1"
)

var (
	cPreset  = C.CString(preset)
	cTune    = C.CString("zerolatency")
	cProfile = C.CString("baseline")
	cParams  = C.CString(x264Params)
	eAgain   = C.mcu_h264_eagain()
)

// Encoder encodes I420 pictures to H.264 (Constrained Baseline, Annex-B)
// for real-time delivery. It is safe for concurrent use.
type Encoder struct {
	mu            sync.Mutex
	c             *C.mcu_h264_enc // nil once closed
	width, height int
	forceKey      bool
}

// NewEncoder returns an H.264 encoder tuned for an MCU's real-time output:
// libx264, profile baseline (Constrained Baseline: no B-frames, CAVLC, what
// every WebRTC endpoint decodes; the level is the lowest that fits the size
// and rate, 3.1 at 720p30), tune zerolatency (no lookahead: one picture in,
// one access unit out), preset superfast on one thread, one slice per
// picture, SPS and PPS repeated in front of every IDR, automatic IDRs only
// every 10 s (the MCU forces them on demand) and none on scene cuts, and
// CBR-like rate control (the VBV rate equals the target, with a 500 ms
// buffer, so a forced keyframe cannot burst the link by more than that).
//
// H.264 cannot code a 4:2:0 picture of odd width or height (even its
// cropping works in 2-pixel steps): such a size is coded one pixel wider
// or taller, repeating the last column or row, and receivers decode the
// even size (CodedSize).
//
// SetBitrate is applied by x264's reconfiguration: a lower target takes
// effect within a second (the VBV rate drops at once), a higher one is
// approached over a few seconds (x264's CBR model ramps up: about 70 % of
// a step after 2 s, 90 % after 10 s).
func NewEncoder(p codec.VideoEncoderParams) (*Encoder, error) {
	p, err := codec.ResolveEncoderParams(p, "h264")
	if err != nil {
		return nil, err
	}
	fps, bps := p.FPS, p.BitrateBps
	quiet()
	c := C.mcu_h264_enc_new(C.mcu_h264_enc_params{
		width:       C.int(p.Width),
		height:      C.int(p.Height),
		fps:         C.int(fps),
		bitrate:     C.int64_t(clampBitrate(bps)),
		vbv_ms:      C.int(vbvMillis),
		threads:     C.int(encoderThreads),
		keyint:      C.int(keyFrameSeconds * fps),
		preset:      cPreset,
		tune:        cTune,
		profile:     cProfile,
		x264_params: cParams,
	})
	if c == nil {
		return nil, fmt.Errorf("h264: new encoder: out of memory")
	}
	if c.init_err != 0 {
		err := fmt.Errorf("h264: new encoder: %s", C.GoString(&c.err[0]))
		C.mcu_h264_enc_free(c)
		return nil, err
	}
	return &Encoder{c: c, width: p.Width, height: p.Height}, nil
}

// CodedSize returns the picture size an encoder made for width×height
// puts in the stream: both rounded up to even.
func CodedSize(width, height int) (w, h int) { return (width + 1) &^ 1, (height + 1) &^ 1 }

// clampBitrate keeps a target within what x264 takes (it counts kb/s).
func clampBitrate(bps int) int { return min(max(bps, 1000), 1_000_000_000) }

// Encode implements codec.VideoEncoder. f must have the size the encoder was
// created with. The access unit (Annex-B, with SPS and PPS in front of an
// IDR) is appended to dst[:0]; when dst has the capacity (a few hundred kB
// covers any keyframe at 720p) Encode does not allocate.
//
// f's planes are copied into the encoder's own picture during the call.
func (e *Encoder) Encode(f *media.VideoFrame, dst []byte) (out []byte, keyframe bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return dst[:0], false, codec.ErrClosed
	}
	if err := e.checkFrameLocked(f); err != nil {
		return dst[:0], false, err
	}
	if rc := C.mcu_h264_enc_send(e.c,
		(*C.uint8_t)(unsafe.Pointer(&f.Y[0])), C.int(f.StrideY),
		(*C.uint8_t)(unsafe.Pointer(&f.U[0])), C.int(f.StrideU),
		(*C.uint8_t)(unsafe.Pointer(&f.V[0])), C.int(f.StrideV),
		boolInt(e.forceKey)); rc < 0 {
		return dst[:0], false, fmt.Errorf("h264: %s", C.GoString(&e.c.err[0]))
	}
	out = dst[:0]
	for {
		rc := C.mcu_h264_enc_receive(e.c)
		if rc == eAgain {
			break
		}
		if rc < 0 {
			return dst[:0], false, fmt.Errorf("h264: %s", C.GoString(&e.c.err[0]))
		}
		// The packet is libavcodec memory, valid until the next receive.
		pkt := e.c.pkt
		if pkt.size > 0 {
			out = append(out, unsafe.Slice((*byte)(unsafe.Pointer(pkt.data)), int(pkt.size))...)
		}
		if pkt.flags&C.AV_PKT_FLAG_KEY != 0 {
			keyframe = true
		}
	}
	if keyframe {
		e.forceKey = false
	}
	return out, keyframe, nil
}

// checkFrameLocked verifies f before C reads it.
func (e *Encoder) checkFrameLocked(f *media.VideoFrame) error {
	return codec.CheckEncoderFrame(f, e.width, e.height, "h264")
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ForceKeyFrame implements codec.KeyFrameController: the next encoded frame
// is an IDR picture (with SPS and PPS). Rate-limiting requests is the
// caller's job. No-op after Close.
func (e *Encoder) ForceKeyFrame() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c != nil {
		e.forceKey = true
	}
}

// SetBitrate implements codec.BitrateController (target in bits per
// second; x264 is reconfigured before the next frame).
func (e *Encoder) SetBitrate(bps int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return codec.ErrClosed
	}
	if bps <= 0 {
		return fmt.Errorf("%w: h264 bitrate %d", codec.ErrBadInput, bps)
	}
	C.mcu_h264_enc_set_bitrate(e.c, C.int64_t(clampBitrate(bps)))
	return nil
}

// Close implements codec.VideoEncoder; it is idempotent.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c != nil {
		C.mcu_h264_enc_free(e.c)
		e.c = nil
	}
	return nil
}

var (
	_ codec.VideoEncoder       = (*Encoder)(nil)
	_ codec.KeyFrameController = (*Encoder)(nil)
	_ codec.BitrateController  = (*Encoder)(nil)
	_ codec.VideoDecoder       = (*Decoder)(nil)
)
