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

// Decoder decodes VP8. It is safe for concurrent use, but the picture
// Decode returns is shared state: see Decode.
type Decoder struct {
	mu      sync.Mutex
	c       *C.mcu_vpx_dec // nil once closed
	haveKey bool           // a keyframe decoded cleanly since init or the last error
	frame   media.VideoFrame
}

// NewDecoder returns a single-threaded VP8 decoder.
func NewDecoder() (*Decoder, error) {
	c := C.mcu_vpx_dec_new(1)
	if c == nil {
		return nil, fmt.Errorf("vpx: new decoder: out of memory")
	}
	if c.init_err != C.VPX_CODEC_OK {
		err := fmt.Errorf("vpx: new decoder: %s", C.GoString(C.vpx_codec_err_to_string(c.init_err)))
		C.mcu_vpx_dec_free(c)
		return nil, err
	}
	return &Decoder{c: c}, nil
}

// Decode implements codec.VideoDecoder. frame is one whole VP8 frame.
//
// The returned picture views the decoder's own (C) memory: it is valid only
// until the next Decode or Close, must not be written to, and the same
// *media.VideoFrame is reused by every call. Copy it (or compose from it)
// before decoding again.
//
// An interframe before the first keyframe, or after a frame that failed or
// came out corrupted, is not decoded and returns an error wrapping
// codec.ErrNeedKeyFrame: the caller should ask the sender for a keyframe
// (PLI). Unparseable input wraps codec.ErrBadInput as well. Decode returns
// (nil, nil) when a frame decodes without producing a picture to show.
func (d *Decoder) Decode(frame []byte) (*media.VideoFrame, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return nil, codec.ErrClosed
	}
	if len(frame) < 3 {
		return nil, fmt.Errorf("%w: vp8 frame of %d bytes", codec.ErrBadInput, len(frame))
	}
	key := frame[0]&1 == 0
	if key {
		// A broken keyframe loses the reference the next interframes
		// need, whatever we had before.
		w, h, ok := KeyFrameSize(frame)
		if !ok {
			d.haveKey = false
			return nil, fmt.Errorf("%w: vp8 keyframe without a valid header (%w)", codec.ErrBadInput, codec.ErrNeedKeyFrame)
		}
		if w == 0 || h == 0 || w > codec.MaxDecodeWidth || h > codec.MaxDecodeHeight || w*h > codec.MaxDecodePixels {
			d.haveKey = false
			return nil, fmt.Errorf("%w: vp8 keyframe of unsupported size %dx%d (%w)", codec.ErrBadInput, w, h, codec.ErrNeedKeyFrame)
		}
	} else if !d.haveKey {
		return nil, fmt.Errorf("vpx: interframe without a reference: %w", codec.ErrNeedKeyFrame)
	}

	// libvpx reads frame only during this call (VP8 decoding is
	// synchronous) and keeps no pointer to it.
	if rc := C.mcu_vpx_dec_decode(d.c, (*C.uint8_t)(unsafe.Pointer(&frame[0])), C.size_t(len(frame))); rc != C.VPX_CODEC_OK {
		d.haveKey = false
		return nil, fmt.Errorf("%w: vp8 decode: %s (%w)", codec.ErrBadInput, C.GoString(C.mcu_vpx_dec_error(d.c)), codec.ErrNeedKeyFrame)
	}
	if d.c.corrupted != 0 {
		d.haveKey = false
		return nil, fmt.Errorf("vpx: decoded picture is corrupt: %w", codec.ErrNeedKeyFrame)
	}
	if key {
		d.haveKey = true
	}
	img := d.c.img
	if img == nil {
		return nil, nil
	}
	if img.fmt != C.VPX_IMG_FMT_I420 {
		return nil, fmt.Errorf("%w: vp8 decoder produced image format %d, want I420", codec.ErrBadInput, int(img.fmt))
	}
	w, h := int(img.d_w), int(img.d_h)
	sy, su, sv := int(img.stride[C.VPX_PLANE_Y]), int(img.stride[C.VPX_PLANE_U]), int(img.stride[C.VPX_PLANE_V])
	cw, ch := (w+1)/2, (h+1)/2
	if w <= 0 || h <= 0 || sy < w || su < cw || sv < cw {
		return nil, fmt.Errorf("%w: vp8 decoder produced a %dx%d picture with strides %d/%d/%d", codec.ErrBadInput, w, h, sy, su, sv)
	}
	// Views over libvpx's frame buffer, each exactly up to the end of its
	// last visible row.
	d.frame = media.VideoFrame{
		Width: w, Height: h,
		Y:       unsafe.Slice((*byte)(unsafe.Pointer(img.planes[C.VPX_PLANE_Y])), (h-1)*sy+w),
		U:       unsafe.Slice((*byte)(unsafe.Pointer(img.planes[C.VPX_PLANE_U])), (ch-1)*su+cw),
		V:       unsafe.Slice((*byte)(unsafe.Pointer(img.planes[C.VPX_PLANE_V])), (ch-1)*sv+cw),
		StrideY: sy, StrideU: su, StrideV: sv,
	}
	return &d.frame, nil
}

// Close implements codec.VideoDecoder; it is idempotent. The last picture
// Decode returned is invalid afterwards (its planes are emptied).
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		C.mcu_vpx_dec_free(d.c)
		d.c = nil
	}
	d.frame = media.VideoFrame{}
	d.haveKey = false
	return nil
}
