// Package webm writes a room's VP8 canvas and Opus mix to a WebM file as
// they come, so that the file plays whatever happens to the process: the
// segment and its clusters have unknown sizes and a cluster starts at
// every keyframe and at least every second, so a killed process loses at
// most the last second. A clean Close adds the Cues (seek index) and the
// Duration in space reserved at the front.
package webm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
	"github.com/mcu-project/mcu/egress/internal/opusgap"
)

// File is where the WebM goes: written in order, and at the front once
// more on Close for the index (an *os.File).
type File interface {
	io.WriteCloser
	io.WriterAt
}

// Tracks describe what the file holds.
type Tracks struct {
	// Width and Height are the canvas size (0: no video track).
	Width, Height int
	// Channels is the Opus mix's channel count.
	Channels int
}

const (
	videoTrack = 1
	audioTrack = 2
	// maxCluster bounds a cluster, in ms (the timecode scale): what a
	// killed process loses at most.
	maxCluster = 1000
	// cuesSpace is reserved for the index: a cue point per cluster takes
	// about 20 bytes, so 64 KiB index about 55 minutes at one cluster a
	// second; a longer file keeps every other cue point (and so on),
	// which still seeks, to the nearest of fewer points.
	cuesSpace = 64 << 10
	// sortDepth is how many blocks may wait to be put in timestamp order:
	// a video frame reaches the muxer after its encode, up to a few
	// audio frames after the audio of the same instant.
	sortDepth = 64
)

// Writer writes one WebM file. Its methods are called from one goroutine.
type Writer struct {
	video, audio webm.BlockWriteCloser
	cues         *keyCues
	gaps         opusgap.Filler
	closed       bool
}

// New starts the file: header, tracks and the space for the index.
func New(f File, t Tracks) (*Writer, error) {
	if t.Channels < 1 || t.Channels > 2 {
		return nil, fmt.Errorf("webm: %d audio channels", t.Channels)
	}
	tracks := []webm.TrackEntry{{
		Name: "mix", TrackNumber: audioTrack, TrackUID: audioTrack, CodecID: "A_OPUS", TrackType: 2,
		CodecPrivate: opusHead(t.Channels),
		Audio:        &webm.Audio{SamplingFrequency: 48000, Channels: uint64(t.Channels)},
	}}
	if t.Width > 0 {
		tracks = append([]webm.TrackEntry{{
			Name: "canvas", TrackNumber: videoTrack, TrackUID: videoTrack, CodecID: "V_VP8", TrackType: 1,
			Video: &webm.Video{PixelWidth: uint64(t.Width), PixelHeight: uint64(t.Height)},
		}}, tracks...)
	}
	main := uint64(audioTrack)
	if t.Width > 0 {
		main = videoTrack
	}
	sorter, err := mkvcore.NewMultiTrackBlockSorter(mkvcore.WithMaxDelayedPackets(sortDepth), mkvcore.WithSortRule(mkvcore.BlockSorterDropOutdated))
	if err != nil {
		return nil, err
	}
	cues := &keyCues{File: f, reserved: cuesSpace, keys: map[int64]bool{}}
	ws, err := webm.NewSimpleBlockWriter(cues, tracks,
		// Our own Info (the library's default is one shared value that
		// it writes the duration into).
		mkvcore.WithSegmentInfo(&webm.Info{TimecodeScale: uint64(time.Millisecond), MuxingApp: "mcu", WritingApp: "mcu"}),
		mkvcore.WithBlockInterceptor(sorter),
		mkvcore.WithSeekHead(true),
		mkvcore.WithCues(cuesSpace),
		mkvcore.WithMinMaxClusterDuration(main, 0, maxCluster),
		// A failed write is latched by the caller's File, which then
		// swallows the rest: nothing here may stop (or panic) midway.
		mkvcore.WithOnFatalHandler(func(error) {}),
		mkvcore.WithOnErrorHandler(func(error) {}),
	)
	if err != nil {
		return nil, err
	}
	w := &Writer{audio: ws[len(ws)-1], cues: cues}
	if t.Width > 0 {
		w.video = ws[0]
	}
	return w, nil
}

// opusHead is the Opus identification header (RFC 7845 §5.1) Matroska
// carries as the track's codec private data. Pre-skip is 0: the file
// plays the mix exactly as a WebRTC receiver of it does.
func opusHead(channels int) []byte {
	h := make([]byte, 19)
	copy(h, "OpusHead")
	h[8] = 1 // version
	h[9] = byte(channels)
	binary.LittleEndian.PutUint32(h[12:], 48000)
	return h
}

// Audio writes one Opus packet at ts from the start of the file. b is
// kept until written: the caller must not reuse it. The gaps of the
// mix's silence (sent as nothing) are filled with empty Opus frames:
// the blocks' timestamps keep the gap, but players and ffmpeg that
// decode the track packet after packet would close it up.
func (w *Writer) Audio(ts time.Duration, b []byte) error {
	return w.gaps.Write(ts, b, func(ts time.Duration, b []byte) error {
		_, err := w.audio.Write(true, ts.Milliseconds(), b)
		return err
	})
}

// Video writes one VP8 frame at ts from the start of the file; b is kept
// as for Audio.
func (w *Writer) Video(ts time.Duration, key bool, b []byte) error {
	if w.video == nil {
		return errors.New("webm: no video track")
	}
	if key {
		w.cues.keyframe(ts.Milliseconds())
	}
	_, err := w.video.Write(key, ts.Milliseconds(), b)
	return err
}

// Close flushes what is waiting, writes the index and the duration, and
// closes the file; idempotent.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	// The last track's Close waits for the file to be finished.
	if w.video != nil {
		_ = w.video.Close()
	}
	return w.audio.Close()
}
