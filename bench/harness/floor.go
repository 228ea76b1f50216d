package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"github.com/mcu-project/mcu/bench/load"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/g711"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/internal/selfcpu"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/mixer"
	"github.com/mcu-project/mcu/room"
)

// audioFloor is the CPU-seconds per media-second of the codec work an audio
// room of n participants with talkers talking needs (talkers < 0: all),
// with the MCU's libraries and settings, timed in this process, on the
// content the room carries. Participant i sends and hears codecs[i %
// len(codecs)] ("opus" when none; "PCMU" is G.711 µ-law with its 8↔48 kHz
// resampling, which the mcu's transcoding needs too). Encoding cost depends
// heavily on the signal, so the mixes are made, before the clock starts, by
// decoding the load's own streams (voices for talkers, tones where latency is measured, coded silence for the
// rest: bench/load sends the same) through the room's mixer. What is timed
// is then exactly the codec work: every 20 ms, one decode per participant —
// except a repeat of a packet that just decoded to silence, which no
// decoder needs to see (the room skips those too) — and one encode per
// distinct mix: a mix-minus for each input in the mix in its codec, plus
// the full mix, once per codec, shared by everyone else when anyone else
// listens. The Opus encoders expect no loss, as the room's do once their
// listeners' receiver reports show none (on loopback, from WebRTC peers and
// the load's plain-RTP legs alike): in-band FEC costs encoding time.
func audioFloor(n, talkers int, codecs []string, tones bool) float64 {
	return audioFloorWith(n, talkers, codecs, floorOptions{tones: tones})
}

// opusAutoBitrate is what libopus encodes 20 ms mono 48 kHz frames at when
// not told a bitrate (OPUS_AUTO: 60·Fs/frame + Fs·channels).
const opusAutoBitrate = 60*media.SampleRate/media.FrameSamples + media.SampleRate

// floorOptions vary the audio floor's conditions, to measure what the
// mcu's codec calls pay beyond it (floor_test.go's BenchmarkAudioFloor).
type floorOptions struct {
	// bitrate of the Opus encoders (0: the room's, opus.DefaultBitrate).
	bitrate int
	// paced sleeps a frame's remaining time after each frame's codec
	// work, as a real-time server does: the next frame finds caches that
	// other work (and idle) has cooled.
	paced bool
	// plain encodes without in-band FEC and DTX, as bench/janusref's
	// AudioBridge participants join (the room's encoders have both).
	plain bool
	// tones: the talkers send steady tones (the latency rows), not voices.
	tones bool
}

func audioFloorWith(n, talkers int, codecs []string, o floorOptions) float64 {
	if talkers < 0 || talkers > n {
		talkers = n
	}
	if len(codecs) == 0 {
		codecs = []string{"opus"}
	}
	const frames, warm = 50, 100 // 1 s of mixes after 2 s for talking detection to settle
	amp := opusloop.ToneAmp(talkers)
	streams := make([][][]byte, n)
	decs := make([]codec.AudioDecoder, n)
	codecOf := make([]int, n)
	for i := range n {
		codecOf[i] = i % len(codecs)
		sound := load.Voice
		switch {
		case i >= talkers:
			sound = load.Silence
		case o.tones:
			sound = load.Tone
		}
		var err error
		if streams[i], err = load.LegLoop(codecs[codecOf[i]], sound, i, amp); err != nil {
			return 0
		}
		if decs[i], err = newFloorDecoder(codecs[codecOf[i]]); err != nil {
			return 0
		}
		defer decs[i].Close()
	}
	mixes := roomMixes(streams, decs, codecOf, warm, frames)
	encs := map[int]codec.AudioEncoder{}
	for _, m := range mixes {
		for _, e := range m {
			if encs[e.key] != nil {
				continue
			}
			enc, err := newFloorEncoder(codecs[e.codec], o.bitrate, !o.plain)
			if err != nil {
				return 0
			}
			defer enc.Close()
			encs[e.key] = enc
		}
	}
	out := make([]int16, opus.MaxPacketSamples)
	buf := make([]byte, 1500)
	const rounds = 2                    // 2 s of media
	silent := make([][]byte, len(decs)) // the last packet that decoded to silence
	start := selfcpu.Time()
	for f := range rounds * frames {
		for i, d := range decs {
			pkt := streams[i][f%len(streams[i])]
			if bytes.Equal(pkt, silent[i]) {
				continue
			}
			k, _ := d.Decode(pkt, out)
			silent[i] = nil
			if media.Silent(out[:k]) {
				silent[i] = pkt
			}
		}
		for _, m := range mixes[f%frames] {
			_, _ = encs[m.key].Encode(m.pcm, buf)
		}
		if o.paced {
			time.Sleep(media.FrameDuration / 2)
		}
	}
	return (selfcpu.Time() - start).Seconds() / (rounds * frames * media.FrameDuration.Seconds())
}

// newFloorDecoder and newFloorEncoder make the room's decoder and encoder
// for a leg codec name, with the room's settings.
func newFloorDecoder(name string) (codec.AudioDecoder, error) {
	if strings.EqualFold(name, "pcmu") {
		return g711.NewDecoder(g711.ULaw)
	}
	return opus.NewDecoder()
}

func newFloorEncoder(name string, bitrate int, fecDTX bool) (codec.AudioEncoder, error) {
	if strings.EqualFold(name, "pcmu") {
		return g711.NewEncoder(g711.ULaw)
	}
	e, err := opus.NewEncoder(codec.EncoderParams{FEC: fecDTX, DTX: fecDTX, BitrateBps: bitrate}) // the room's audio encoder settings (fecDTX)
	if err != nil {
		return nil, err
	}
	if err := e.SetPacketLossPercent(0); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// mixOut is one distinct mix of a frame: its samples, the encoder it goes
// to (key: the input's index for its mix-minus, n+codec for the full mix
// in that codec) and that encoder's codec.
type mixOut struct {
	pcm        []int16
	key, codec int
}

// roomMixes runs the streams through decoders and the room's mixer for
// warm frames, then returns the distinct mixes of the next frames frames:
// per frame, each contributing input's mix-minus and, per codec some
// input that does not contribute hears, the full mix. It leaves the
// decoders where the timed loop continues them.
func roomMixes(streams [][][]byte, decs []codec.AudioDecoder, codecOf []int, warm, frames int) [][]mixOut {
	mx, err := mixer.New(room.DefaultOptions().Mixer) // the room's gate and talking detection
	if err != nil {
		return nil
	}
	ins := make([]*mixer.Input, len(streams))
	for i := range ins {
		ins[i] = mx.Add(media.ParticipantID(fmt.Sprint(i)))
	}
	pcm := make([]int16, opus.MaxPacketSamples)
	now := time.Now()
	out := make([][]mixOut, frames)
	for f := range warm + frames {
		for i, d := range decs {
			k, _ := d.Decode(streams[i][f%len(streams[i])], pcm)
			copy(ins[i].Frame().Samples[:], pcm[:k])
			ins[i].SetPresent(true)
		}
		mx.Mix(now.Add(time.Duration(f) * media.FrameDuration))
		if f < warm {
			continue
		}
		var dst media.AudioFrame
		shared := map[int]bool{} // codecs of the inputs hearing the full mix
		for i, in := range ins {
			if !in.Contributing() {
				shared[codecOf[i]] = true
				continue
			}
			mx.MixMinus(in, &dst)
			out[f-warm] = append(out[f-warm], mixOut{slices.Clone(dst.Samples[:]), i, codecOf[i]})
		}
		if len(shared) > 0 {
			mx.MixAll(&dst)
			for c := range shared {
				out[f-warm] = append(out[f-warm], mixOut{slices.Clone(dst.Samples[:]), len(ins) + c, c})
			}
		}
	}
	return out
}

// videoFloor is the CPU-seconds per media-second of the VP8 work a video
// room needs at 30 fps: decodes of inW×inH streams and encodes of the
// canvas. The canvases encoded are the same content the mcu encodes — the
// decoded cameras composed into a grid — made before the clock starts, so
// only codec work is timed.
func videoFloor(decodes, inW, inH, encodes, canvasW, canvasH int) float64 {
	// The first frames (a keyframe, encoder warm-up) are not timed: the
	// mcu runs in steady state, where keyframes are rare.
	const fps, warm, frames = 30, 15, 75
	streams := make([][][]byte, max(decodes, 1))
	for s := range streams {
		src, _ := media.NewVideoFrame(inW, inH)
		senc, _ := vpx.NewEncoder(codec.VideoEncoderParams{Width: inW, Height: inH, FPS: fps, BitrateBps: 300000})
		// The pictures the load generator's cameras send (bench/load).
		cam := pionclient.VideoOptions{Y: byte(60 + 40*(s%4)), U: byte(90 + 30*(s%3)), V: byte(200 - 30*(s%5)), Counter: true, ID: s % (pionclient.MaxCounterID + 1)}
		for f := range frames {
			pionclient.PaintCamera(src, cam, f)
			out, _, _ := senc.Encode(src, nil)
			streams[s] = append(streams[s], append([]byte(nil), out...))
		}
		senc.Close()
	}
	canvases := composeCanvases(streams, canvasW, canvasH)
	decs := make([]*vpx.Decoder, decodes)
	encs := make([]*vpx.Encoder, encodes)
	for i := range decs {
		decs[i], _ = vpx.NewDecoder()
		defer decs[i].Close()
	}
	for i := range encs {
		encs[i], _ = vpx.NewEncoder(codec.VideoEncoderParams{Width: canvasW, Height: canvasH, FPS: fps})
		defer encs[i].Close()
	}
	var buf []byte
	var start time.Duration
	for f := range frames {
		if f == warm {
			start = selfcpu.Time()
		}
		for i, d := range decs {
			_, _ = d.Decode(streams[i][f])
		}
		for _, e := range encs {
			buf, _, _ = e.Encode(canvases[f], buf[:0])
		}
	}
	return (selfcpu.Time() - start).Seconds() / (float64(frames-warm) / fps)
}

// composeCanvases decodes the streams and grids them frame by frame, as
// the mcu's shared canvas shows them.
func composeCanvases(streams [][][]byte, w, h int) []*media.VideoFrame {
	decs := make([]*vpx.Decoder, len(streams))
	for i := range decs {
		decs[i], _ = vpx.NewDecoder()
		defer decs[i].Close()
	}
	comp, _ := compositor.New(w, h)
	var out []*media.VideoFrame
	pics := make([]media.VideoFrame, len(streams))
	tiles := make([]compositor.Tile, len(streams))
	for f := range streams[0] {
		for i, d := range decs {
			if pic, err := d.Decode(streams[i][f]); err == nil && pic != nil {
				pics[i].CopyFrom(pic)
				tiles[i].Frame = &pics[i]
			}
		}
		canvas, _ := comp.Compose(compositor.Grid(), tiles)
		var c media.VideoFrame
		c.CopyFrom(canvas)
		out = append(out, &c)
	}
	return out
}
