package main

import (
	"syscall"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/internal/pionclient"
	"github.com/mcu-project/mcu/media"
)

// cpuNow is this process's user+system CPU time.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// audioFloor is the CPU-seconds per media-second of the codec work an audio
// room needs: decodes Opus decodes and encodes Opus encodes every 20 ms,
// with the MCU's libraries and settings, timed in this process.
func audioFloor(decodes, encodes int) float64 {
	enc, _ := opus.NewEncoder(codec.EncoderParams{FEC: true})
	defer enc.Close()
	pcm := make([]int16, media.FrameSamples)
	pkts := make([][]byte, 50)
	for f := range pkts {
		codectest.Tone(pcm, 440, 6000, f*media.FrameSamples)
		b := make([]byte, 1500)
		n, _ := enc.Encode(pcm, b)
		pkts[f] = b[:n]
	}
	decs := make([]*opus.Decoder, decodes)
	encs := make([]*opus.Encoder, encodes)
	for i := range decs {
		decs[i], _ = opus.NewDecoder()
		defer decs[i].Close()
	}
	for i := range encs {
		encs[i], _ = opus.NewEncoder(codec.EncoderParams{FEC: true})
		defer encs[i].Close()
	}
	out := make([]int16, opus.MaxPacketSamples)
	buf := make([]byte, 1500)
	const frames = 100 // 2 s of media
	// Inputs are made before the clock starts: only codec work is timed.
	mixes := make([][]int16, 10)
	for i := range mixes {
		mixes[i] = make([]int16, media.FrameSamples)
		codectest.Tone(mixes[i], 440, 6000, i*media.FrameSamples)
	}
	start := cpuNow()
	for f := range frames {
		for _, d := range decs {
			_, _ = d.Decode(pkts[f%len(pkts)], out)
		}
		for _, e := range encs {
			_, _ = e.Encode(mixes[f%len(mixes)], buf)
		}
	}
	return (cpuNow() - start).Seconds() / (frames * media.FrameDuration.Seconds())
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
		cam := pionclient.VideoOptions{Y: byte(60 + 40*(s%4)), U: byte(90 + 30*(s%3)), V: byte(200 - 30*(s%5))}
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
			start = cpuNow()
		}
		for i, d := range decs {
			_, _ = d.Decode(streams[i][f])
		}
		for _, e := range encs {
			buf, _, _ = e.Encode(canvases[f], buf[:0])
		}
	}
	return (cpuNow() - start).Seconds() / (float64(frames-warm) / fps)
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
