// Package ogg writes a room's Opus mix to an Ogg Opus file as it comes
// (pion's oggwriter: a page per packet, so a killed process loses
// nothing written), keeping wall-clock time across the gaps in the mix.
package ogg

import (
	"errors"
	"io"
	"time"

	"github.com/mcu-project/mcu/egress/internal/opusgap"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// preSkip is what oggwriter's header tells players to drop from the start
// (3840 samples, RFC 7845's recommendation): that much filler comes first,
// so the mix's first packet plays at the file's zero.
const preSkip = 80 * time.Millisecond

// Writer writes one Ogg Opus file; one goroutine calls it.
type Writer struct {
	w       *oggwriter.Writer
	track   *oggwriter.Track
	gaps    opusgap.Filler
	started bool
}

// New starts a mono (channels 1) or stereo 48 kHz Opus file on out,
// which Close closes.
func New(out io.WriteCloser, channels int) (*Writer, error) {
	w, err := oggwriter.NewWriter(out, oggwriter.WithSampleRate(48000), oggwriter.WithChannelCount(uint16(channels)))
	if err != nil {
		return nil, err
	}
	track, err := w.NewTrack(1)
	if err != nil {
		return nil, err
	}
	return &Writer{w: w, track: track}, nil
}

// Audio writes one Opus packet at ts from the start of the recording.
// Ogg has no timestamps but the count of samples, so a gap (the mix's
// silence, sent as nothing) is filled with empty Opus frames.
func (w *Writer) Audio(ts time.Duration, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if !w.started {
		w.started = true
		w.gaps.Start(ts, preSkip)
	}
	return w.gaps.Write(ts, b, w.write)
}

func (w *Writer) write(_ time.Duration, b []byte) error {
	return w.track.WriteRTP(&rtp.Packet{Header: rtp.Header{SSRC: 1}, Payload: b})
}

// Video is refused: Ogg holds the mix alone.
func (w *Writer) Video(time.Duration, bool, []byte) error { return errNoVideo }

var errNoVideo = errors.New("ogg: no video")

// Close ends the stream (an end-of-stream page) and closes the file.
func (w *Writer) Close() error { return w.w.Close() }
