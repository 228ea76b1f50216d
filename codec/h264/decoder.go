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

// maxAccessUnit bounds the input Decode copies into libavcodec. Pictures
// are bounded by codec.MaxDecodeWidth/Height/Pixels: larger sequence
// parameter sets are rejected before they reach libavcodec, and libavcodec
// is told the same limit (max_pixels).
const maxAccessUnit = 64 << 20

// Decoder decodes H.264 (any profile libavcodec decodes to 8-bit 4:2:0;
// WebRTC sends Constrained Baseline). It is safe for concurrent use, but
// the picture Decode returns is shared state: see Decode.
type Decoder struct {
	mu sync.Mutex
	c  *C.mcu_h264_dec // nil once closed

	// haveIDR: an IDR picture decoded cleanly since init or the last
	// error, and every reference picture since then arrived (no
	// frame_num gap). Non-IDR access units are refused while it is false.
	haveIDR bool
	// prevRefFrameNum is the frame_num of the last reference picture
	// decoded (H.264 §7.4.3, PrevRefFrameNum).
	prevRefFrameNum uint32

	// Parameter sets seen in band: what a slice header needs to be read.
	sps    [32]spsInfo
	ppsSPS [256]uint8 // PPS id → SPS id + 1; 0 = unknown

	frame media.VideoFrame
}

// NewDecoder returns a single-threaded, low-delay H.264 decoder.
func NewDecoder() (*Decoder, error) {
	quiet()
	c := C.mcu_h264_dec_new(C.int64_t(codec.MaxDecodePixels))
	if c == nil {
		return nil, fmt.Errorf("h264: new decoder: out of memory")
	}
	if c.init_err != 0 {
		err := fmt.Errorf("h264: new decoder: %s", C.GoString(&c.err[0]))
		C.mcu_h264_dec_free(c)
		return nil, err
	}
	return &Decoder{c: c}, nil
}

// accessUnit is what Decode learns of an access unit before decoding it.
type accessUnit struct {
	vcl      bool // has slices
	idr      bool
	ref      bool // nal_ref_idc != 0: the picture is used for reference
	frameNum uint32
	sps      *spsInfo // of the first slice
	hasSPS   bool
}

// Decode implements codec.VideoDecoder. frame is one access unit in
// Annex-B form (every NAL unit of one picture, each behind a 00 00 01 or
// 00 00 00 01 start code), as reassembled from RTP (RFC 6184).
//
// The returned picture views the decoder's own (C) memory: it is valid only
// until the next Decode or Close, must not be written to, and the same
// *media.VideoFrame is reused by every call. Copy it (or compose from it)
// before decoding again.
//
// Decode refuses, with an error wrapping codec.ErrNeedKeyFrame, every
// non-IDR access unit before the first IDR picture, after any error, and
// after a reference picture went missing (a gap in frame_num): the caller
// should ask the sender for a keyframe (PLI). Such access units are not
// given to libavcodec at all, so nothing predicted from a missing
// reference ever comes out. Pictures libavcodec could decode only with
// error concealment are refused the same way. Unparseable input wraps
// codec.ErrBadInput as well. Decode returns (nil, nil) for an access unit
// without a picture (parameter sets only, or a picture libavcodec holds
// back).
func (d *Decoder) Decode(frame []byte) (*media.VideoFrame, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return nil, codec.ErrClosed
	}
	au, err := d.inspectLocked(frame)
	if err != nil {
		d.failLocked()
		return nil, err
	}
	if au.vcl && !au.idr {
		if !d.haveIDR {
			return nil, fmt.Errorf("h264: non-IDR picture without a reference: %w", codec.ErrNeedKeyFrame)
		}
		if max := uint32(1) << au.sps.log2MaxFrameNum; !au.sps.gapsAllowed &&
			au.frameNum != d.prevRefFrameNum && au.frameNum != (d.prevRefFrameNum+1)%max {
			d.failLocked()
			return nil, fmt.Errorf("h264: frame_num %d after reference %d, a reference picture is missing: %w",
				au.frameNum, d.prevRefFrameNum, codec.ErrNeedKeyFrame)
		}
	}

	// libavcodec copies frame into its own padded packet buffer before
	// decoding and keeps no pointer to it.
	if rc := C.mcu_h264_dec_decode(d.c, (*C.uint8_t)(unsafe.Pointer(&frame[0])), C.int(len(frame))); rc < 0 {
		if !au.vcl {
			// Parameter sets alone make libavcodec complain that there is
			// no picture; it has stored them nonetheless.
			d.noPictureLocked(au)
			return nil, nil
		}
		d.failLocked()
		return nil, fmt.Errorf("%w: %s (%w)", codec.ErrBadInput, C.GoString(&d.c.err[0]), codec.ErrNeedKeyFrame)
	}
	if d.c.decode_error_flags != 0 || d.c.frame_flags&C.AV_FRAME_FLAG_CORRUPT != 0 {
		flags := int(d.c.decode_error_flags)
		d.failLocked()
		return nil, fmt.Errorf("h264: decoded picture is corrupt (error flags %#x): %w", flags, codec.ErrNeedKeyFrame)
	}
	if !au.vcl {
		d.noPictureLocked(au)
		return nil, nil
	}
	if au.idr {
		d.haveIDR = true
	}
	if au.ref {
		d.prevRefFrameNum = au.frameNum
	}
	if d.c.got == 0 {
		d.frame = media.VideoFrame{}
		return nil, nil
	}
	return d.pictureLocked()
}

// inspectLocked walks the NAL units of an access unit: it records the
// parameter sets, checks their picture size, and reads the first slice's
// header.
func (d *Decoder) inspectLocked(frame []byte) (au accessUnit, err error) {
	if len(frame) > maxAccessUnit {
		return au, fmt.Errorf("%w: h264 access unit of %d bytes (%w)", codec.ErrBadInput, len(frame), codec.ErrNeedKeyFrame)
	}
	n := 0
	for nal, rest, ok := nextNAL(frame); ok; nal, rest, ok = nextNAL(rest) {
		if len(nal) == 0 {
			continue
		}
		n++
		if nal[0]&0x80 != 0 {
			return au, fmt.Errorf("%w: h264 NAL unit with the forbidden bit set (%w)", codec.ErrBadInput, codec.ErrNeedKeyFrame)
		}
		switch typ := nal[0] & 0x1f; typ {
		case nalSPS:
			id, s, ok := parseSPS(nal)
			if !ok {
				return au, fmt.Errorf("%w: bad h264 sequence parameter set (%w)", codec.ErrBadInput, codec.ErrNeedKeyFrame)
			}
			if s.codedWidth > codec.MaxDecodeWidth || s.codedHeight > codec.MaxDecodeHeight || s.codedWidth*s.codedHeight > codec.MaxDecodePixels {
				return au, fmt.Errorf("%w: h264 picture of unsupported size %dx%d (%w)", codec.ErrBadInput, s.width, s.height, codec.ErrNeedKeyFrame)
			}
			d.sps[id] = s
			au.hasSPS = true
		case nalPPS:
			id, spsID, ok := parsePPS(nal)
			if !ok {
				return au, fmt.Errorf("%w: bad h264 picture parameter set (%w)", codec.ErrBadInput, codec.ErrNeedKeyFrame)
			}
			d.ppsSPS[id] = uint8(spsID + 1)
		case nalSlice, nalIDR:
			idr := typ == nalIDR
			if au.vcl {
				if idr != au.idr {
					return au, fmt.Errorf("%w: h264 access unit mixes IDR and non-IDR slices (%w)", codec.ErrBadInput, codec.ErrNeedKeyFrame)
				}
				au.ref = au.ref || nal[0]&0x60 != 0
				continue
			}
			h, s, ok := parseSliceHeader(nal, &d.ppsSPS, &d.sps)
			if !ok {
				if idr || d.haveIDR {
					return au, fmt.Errorf("%w: h264 slice header unreadable or without parameter sets (%w)", codec.ErrBadInput, codec.ErrNeedKeyFrame)
				}
				return au, fmt.Errorf("h264: non-IDR picture without a reference: %w", codec.ErrNeedKeyFrame)
			}
			au.vcl, au.idr, au.ref, au.frameNum, au.sps = true, idr, nal[0]&0x60 != 0, h.frameNum, s
		default:
			if typ >= nalSliceDPA && typ <= nalSliceDPC {
				return au, fmt.Errorf("%w: h264 data partitioning is not supported (%w)", codec.ErrBadInput, codec.ErrNeedKeyFrame)
			}
			// SEI, access unit delimiters, end of sequence, filler,
			// extensions: libavcodec handles or ignores them.
		}
	}
	if n == 0 {
		return au, fmt.Errorf("%w: no h264 NAL unit in %d bytes (%w)", codec.ErrBadInput, len(frame), codec.ErrNeedKeyFrame)
	}
	return au, nil
}

// noPictureLocked ends an access unit without slices. One that carries a
// sequence parameter set starts a new coded video sequence, which begins
// with an IDR picture: when that IDR is not in the same access unit its
// slices were lost (or the sender sends parameter sets on their own), and
// the pictures after it must not be decoded against the old references.
func (d *Decoder) noPictureLocked(au accessUnit) {
	d.resetPictureLocked()
	if au.hasSPS {
		d.haveIDR = false
	}
}

// failLocked drops every reference after an error: non-IDR access units
// are refused until the next IDR, and libavcodec forgets its pictures so
// nothing decoded from a broken reference comes out later.
func (d *Decoder) failLocked() {
	d.haveIDR = false
	d.resetPictureLocked()
	C.mcu_h264_dec_reset(d.c)
}

func (d *Decoder) resetPictureLocked() { d.frame = media.VideoFrame{} }

// pictureLocked points d.frame at libavcodec's picture.
func (d *Decoder) pictureLocked() (*media.VideoFrame, error) {
	f := d.c.frame
	if f.format != C.AV_PIX_FMT_YUV420P && f.format != C.AV_PIX_FMT_YUVJ420P {
		d.failLocked()
		return nil, fmt.Errorf("%w: h264 decoder produced pixel format %d, want 8-bit 4:2:0", codec.ErrBadInput, int(f.format))
	}
	w, h := int(f.width), int(f.height)
	sy, su, sv := int(f.linesize[0]), int(f.linesize[1]), int(f.linesize[2])
	cw, ch := (w+1)/2, (h+1)/2
	if w <= 0 || h <= 0 || w > codec.MaxDecodeWidth || h > codec.MaxDecodeHeight || sy < w || su < cw || sv < cw ||
		f.data[0] == nil || f.data[1] == nil || f.data[2] == nil {
		d.failLocked()
		return nil, fmt.Errorf("%w: h264 decoder produced a %dx%d picture with strides %d/%d/%d", codec.ErrBadInput, w, h, sy, su, sv)
	}
	// Views over libavcodec's picture buffer, each exactly up to the end
	// of its last visible row.
	d.frame = media.VideoFrame{
		Width: w, Height: h,
		Y:       unsafe.Slice((*byte)(unsafe.Pointer(f.data[0])), (h-1)*sy+w),
		U:       unsafe.Slice((*byte)(unsafe.Pointer(f.data[1])), (ch-1)*su+cw),
		V:       unsafe.Slice((*byte)(unsafe.Pointer(f.data[2])), (ch-1)*sv+cw),
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
		C.mcu_h264_dec_free(d.c)
		d.c = nil
	}
	d.frame = media.VideoFrame{}
	d.haveIDR = false
	return nil
}
