// Package mp4 writes a room's H.264 canvas and Opus mix to a fragmented
// MP4 file as they come (Eyevinn/mp4ff): the init segment at the first
// keyframe, then a fragment at every keyframe and at least every second,
// so a killed process leaves a file that plays up to its last fragment
// (no "moov atom not found"); a clean Close adds the random-access index
// (mfra) players seek with.
package mp4

import (
	"errors"
	"io"
	"time"

	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/mcu-project/mcu/egress/internal/opusgap"
)

// Tracks describe what the file holds.
type Tracks struct {
	// Channels is the Opus mix's channel count.
	Channels int
}

const (
	videoID, audioID = 1, 2
	videoScale       = 90000
	audioScale       = 48000
	// maxFragment bounds a fragment: what a killed process loses at
	// most.
	maxFragment = time.Second
	// audioFrame is an Opus packet's duration in audioScale units.
	audioFrame = uint32(audioScale * opusgap.Frame / time.Second)
)

// sample is one frame waiting for its fragment.
type sample struct {
	ts   time.Duration
	key  bool
	data []byte
}

// Writer writes one file; one goroutine calls it.
type Writer struct {
	out      io.WriteCloser
	channels int
	started  bool          // the init segment is written
	base     time.Duration // the first keyframe's time: the file's zero
	pos      uint64        // bytes written: where the next box starts
	seq      uint32
	err      error // the first write's error, returned from then on

	fragStart    time.Duration
	video, audio []sample
	// nextAudio is the decode time (audioScale) of the next audio sample
	// in the file; audioStarted once it is set.
	nextAudio    uint64
	audioStarted bool
	gaps         opusgap.Filler
	// index is the random-access points: per track, the fragments that
	// start with a keyframe (all of the audio's).
	index  [2][]mp4.TfraEntry
	closed bool
}

// New returns a writer to out, which Close closes. Nothing is written
// before the canvas's first keyframe (the init segment needs its SPS and
// PPS); the mix before it is dropped.
func New(out io.WriteCloser, t Tracks) (*Writer, error) {
	if t.Channels < 1 || t.Channels > 2 {
		return nil, errors.New("mp4: 1 or 2 audio channels")
	}
	return &Writer{out: out, channels: t.Channels}, nil
}

// Video writes one H.264 access unit (Annex-B, as the room's encoders
// make it) at ts from the start of the recording. b is kept until
// written.
func (w *Writer) Video(ts time.Duration, key bool, b []byte) error {
	if w.err != nil {
		return w.err
	}
	if !w.started {
		if !key {
			return nil
		}
		if err := w.start(ts, b); err != nil {
			return err
		}
	}
	if ts < w.base {
		return nil
	}
	if len(w.video) > 0 && (key || ts-w.fragStart >= maxFragment) {
		w.flush(ts, true)
	}
	if len(w.video) == 0 && len(w.audio) == 0 {
		w.fragStart = ts
	}
	w.video = append(w.video, sample{ts: ts, key: key, data: avc.ConvertByteStreamToNaluSample(b)})
	return w.err
}

// Audio writes one Opus packet at ts from the start of the recording;
// the gaps of the mix's silence are filled, as the track counts samples.
func (w *Writer) Audio(ts time.Duration, b []byte) error {
	if w.err != nil {
		return w.err
	}
	if !w.started || ts < w.base {
		return nil
	}
	return w.gaps.Write(ts, b, func(ts time.Duration, b []byte) error {
		if !w.audioStarted {
			w.audioStarted, w.nextAudio = true, uint64(scale(ts-w.base, audioScale))
		}
		if ts-w.fragStart >= maxFragment {
			w.flush(0, false)
		}
		if len(w.video) == 0 && len(w.audio) == 0 {
			w.fragStart = ts
		}
		w.audio = append(w.audio, sample{ts: ts, key: true, data: b})
		return w.err
	})
}

func scale(d time.Duration, rate int) int64 {
	return (int64(d)*int64(rate) + int64(time.Second)/2) / int64(time.Second)
}

// start writes the init segment from the keyframe's parameter sets.
func (w *Writer) start(ts time.Duration, key []byte) error {
	sps, pps := avc.GetParameterSetsFromByteStream(key)
	if len(sps) == 0 || len(pps) == 0 {
		return errors.New("mp4: keyframe without SPS and PPS")
	}
	init := mp4.CreateEmptyInit()
	init.AddEmptyTrack(videoScale, "video", "und")
	if err := init.Moov.Traks[0].SetAVCDescriptor("avc1", sps, pps, true); err != nil {
		return err
	}
	init.AddEmptyTrack(audioScale, "audio", "und")
	dops := &mp4.DopsBox{OutputChannelCount: byte(w.channels), InputSampleRate: audioScale}
	init.Moov.Traks[1].Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateAudioSampleEntryBox("Opus", uint16(w.channels), 16, audioScale, dops))
	w.started, w.base, w.fragStart = true, ts, ts
	w.write(init)
	return w.err
}

// box is what write writes.
type box interface {
	Encode(io.Writer) error
	Size() uint64
}

func (w *Writer) write(b box) {
	if w.err != nil {
		return
	}
	w.err = b.Encode(w.out)
	w.pos += b.Size()
}

// flush writes the samples gathered as one fragment. The video's last
// sample lasts until next (the frame that starts the next fragment) when
// haveNext; without it, it waits for the next fragment.
func (w *Writer) flush(next time.Duration, haveNext bool) {
	video := w.video
	var held []sample
	if !haveNext && len(video) > 0 {
		video, held = video[:len(video)-1], video[len(video)-1:]
	}
	if len(video) == 0 && len(w.audio) == 0 {
		return
	}
	var ids []uint32
	if len(video) > 0 {
		ids = append(ids, videoID)
	}
	if len(w.audio) > 0 {
		ids = append(ids, audioID)
	}
	w.seq++
	frag, err := mp4.CreateMultiTrackFragment(w.seq, ids)
	if err != nil {
		w.err = err
		return
	}
	if len(video) > 0 {
		if video[0].key {
			w.index[0] = append(w.index[0], mp4.TfraEntry{Time: uint64(scale(video[0].ts-w.base, videoScale)), MoofOffset: w.pos, TrafNumber: 1, TrunNumber: 1, SampleNumber: 1})
		}
		for i, s := range video {
			end := next
			if i+1 < len(w.video) { // the held sample, if any, comes next
				end = w.video[i+1].ts
			}
			dt := scale(s.ts-w.base, videoScale)
			flags := mp4.NonSyncSampleFlags
			if s.key {
				flags = mp4.SyncSampleFlags
			}
			w.addSample(frag, videoID, flags, uint32(scale(end-w.base, videoScale)-dt), uint64(dt), s.data)
		}
	}
	if len(w.audio) > 0 {
		w.index[1] = append(w.index[1], mp4.TfraEntry{Time: w.nextAudio, MoofOffset: w.pos, TrafNumber: uint32(len(ids)), TrunNumber: 1, SampleNumber: 1})
		for _, s := range w.audio {
			w.addSample(frag, audioID, mp4.SyncSampleFlags, audioFrame, w.nextAudio, s.data)
			w.nextAudio += uint64(audioFrame)
		}
	}
	w.write(frag)
	w.video, w.audio = append(w.video[:0], held...), w.audio[:0]
	if len(held) > 0 {
		w.fragStart = held[0].ts
	}
}

func (w *Writer) addSample(frag *mp4.Fragment, track, flags, dur uint32, dt uint64, data []byte) {
	if w.err != nil {
		return
	}
	w.err = frag.AddFullSampleToTrack(mp4.FullSample{Sample: mp4.NewSample(flags, dur, uint32(len(data)), 0), DecodeTime: dt, Data: data}, track)
}

// Close writes what is gathered (the last picture lasting a frame of the
// mix), the random-access index, and closes the file; idempotent.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.started {
		next := w.fragStart
		if n := len(w.video); n > 0 {
			next = w.video[n-1].ts + opusgap.Frame
		}
		w.flush(next, true)
		mfra := &mp4.MfraBox{}
		for i, id := range []uint32{videoID, audioID} {
			if len(w.index[i]) > 0 {
				_ = mfra.AddChild(&mp4.TfraBox{Version: 1, TrackID: id, LengthSizeOfTrafNum: 3, LengthSizeOfTrunNum: 3, LengthSizeOfSampleNum: 3, Entries: w.index[i]})
			}
		}
		mfro := &mp4.MfroBox{}
		_ = mfra.AddChild(mfro)
		mfro.ParentSize = uint32(mfra.Size())
		w.write(mfra)
	}
	return errors.Join(w.err, w.out.Close())
}
