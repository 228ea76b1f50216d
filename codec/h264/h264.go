// Package h264 is a small, allocation-free cgo wrapper over libavcodec's
// H.264 decoder and its libx264 encoder, adapted to the codec interfaces.
// Both directions carry Annex-B access units (NAL units behind 00 00 00 01
// start codes), one picture per call.
//
// Ownership rules (DESIGN.md §7.4): every libavcodec context, packet and
// picture lives in C memory; Go memory (access units to decode, pictures
// to encode) is passed to C only for the duration of one call and copied
// there, never kept; Close is idempotent and serialised with every other
// method by a mutex, and any use after Close returns codec.ErrClosed.
//
// The package lowers libav*'s process-wide log level to quiet the first
// time a decoder or encoder is made: a remote sender's broken stream would
// otherwise flood stderr, and every failure is returned as an error.
package h264

/*
#cgo pkg-config: libavcodec libavutil
#include "mcuh264.h"
*/
import "C"

import (
	"sync"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// MimeType is the RTP MIME type of H.264.
const MimeType = "video/H264"

// Register adds H.264 to r.
func Register(r *codec.Registry) error {
	return r.RegisterVideo(codec.VideoCodec{
		MimeType:  MimeType,
		ClockRate: media.VideoClockRate,
		NewDecoder: func() (codec.VideoDecoder, error) {
			return NewDecoder()
		},
		NewEncoder: func(p codec.VideoEncoderParams) (codec.VideoEncoder, error) {
			return NewEncoder(p)
		},
	})
}

var quietLogs sync.Once

func quiet() { quietLogs.Do(func() { C.mcu_h264_quiet_logs() }) }
