package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/media"
)

// ivfWriter writes VP8 frames in the IVF container: a 32-byte file header
// followed by a 12-byte header (size, 64-bit pts) before each frame.
type ivfWriter struct {
	w      io.Writer
	frames uint32
}

// newIVFWriter writes the file header for a w×h VP8 stream whose pts unit is
// 1/fps s. The header's frame count is left 0 (readers, ivfparse included,
// do not need it); patchIVFFrameCount fills it in.
func newIVFWriter(ws io.Writer, w, h, fps int) (*ivfWriter, error) {
	var hdr [32]byte
	copy(hdr[0:4], "DKIF")
	binary.LittleEndian.PutUint16(hdr[4:], 0)  // version
	binary.LittleEndian.PutUint16(hdr[6:], 32) // header size
	copy(hdr[8:12], "VP80")
	binary.LittleEndian.PutUint16(hdr[12:], uint16(w))
	binary.LittleEndian.PutUint16(hdr[14:], uint16(h))
	binary.LittleEndian.PutUint32(hdr[16:], uint32(fps)) // timebase denominator (rate)
	binary.LittleEndian.PutUint32(hdr[20:], 1)           // timebase numerator (scale)
	// hdr[24:28] frame count, patched by Close; hdr[28:32] unused.
	if _, err := ws.Write(hdr[:]); err != nil {
		return nil, err
	}
	return &ivfWriter{w: ws}, nil
}

func (iw *ivfWriter) WriteFrame(frame []byte, pts uint64) error {
	var fh [12]byte
	binary.LittleEndian.PutUint32(fh[0:], uint32(len(frame)))
	binary.LittleEndian.PutUint64(fh[4:], pts)
	if _, err := iw.w.Write(fh[:]); err != nil {
		return err
	}
	if _, err := iw.w.Write(frame); err != nil {
		return err
	}
	iw.frames++
	return nil
}

// patchIVFFrameCount writes the frame count into an IVF file's header.
func patchIVFFrameCount(f io.WriterAt, frames uint32) error {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], frames)
	_, err := f.WriteAt(n[:], 24)
	return err
}

// participantTint is the chroma each participant's picture is pulled
// towards, so the four tiles are told apart at a glance.
var participantTint = [][2]byte{
	{90, 240},  // red
	{54, 34},   // green
	{240, 110}, // blue
	{200, 160}, // magenta-ish
	{100, 60},
	{160, 200},
}

// participantFrame paints participant k's camera picture number n: the
// codectest moving scene (textured pan and a moving box), phase-shifted
// per participant and tinted with its colour.
func participantFrame(f *media.VideoFrame, k, n int) {
	codectest.MovingFrame(f, n+97*k)
	t := participantTint[k%len(participantTint)]
	cw, ch := f.ChromaWidth(), f.ChromaHeight()
	for r := 0; r < ch; r++ {
		ur := f.U[r*f.StrideU : r*f.StrideU+cw]
		vr := f.V[r*f.StrideV : r*f.StrideV+cw]
		for c := range ur {
			ur[c] = byte((int(ur[c]) + int(t[0])) / 2)
			vr[c] = byte((int(vr[c]) + int(t[1])) / 2)
		}
	}
}

// inputSpec describes the camera streams to prepare.
type inputSpec struct {
	N, W, H, FPS int
	Frames       int // per stream
	BitrateBps   int // per stream, for our vpx encoder
}

// prepareInputs encodes spec.N VP8 streams with the MCU's own encoder
// (codec/vpx) into dir/in<K>.ivf, in parallel, and returns their paths.
func prepareInputs(ctx context.Context, dir string, spec inputSpec) ([]string, error) {
	paths := make([]string, spec.N)
	errs := make([]error, spec.N)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for k := range spec.N {
		paths[k] = filepath.Join(dir, fmt.Sprintf("in%d.ivf", k))
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[k] = encodeStream(ctx, paths[k], k, spec)
		}()
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", k, err)
		}
	}
	return paths, nil
}

func encodeStream(ctx context.Context, path string, k int, spec inputSpec) (err error) {
	enc, err := vpx.NewEncoder(codec.VideoEncoderParams{Width: spec.W, Height: spec.H, FPS: spec.FPS, BitrateBps: spec.BitrateBps})
	if err != nil {
		return err
	}
	defer enc.Close()
	pic, err := media.NewVideoFrame(spec.W, spec.H)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	iw, err := newIVFWriter(bw, spec.W, spec.H, spec.FPS)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 512<<10)
	for n := range spec.Frames {
		if n%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		participantFrame(pic, k, n)
		out, _, err := enc.Encode(pic, buf)
		if err != nil {
			return err
		}
		if len(out) == 0 {
			// Never expected (no frame dropping); keep pts continuous anyway.
			continue
		}
		if err := iw.WriteFrame(out, uint64(n)); err != nil {
			return err
		}
		buf = out
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return patchIVFFrameCount(f, iw.frames)
}
