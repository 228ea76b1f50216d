package vpx_test

import (
	"github.com/mcu-project/mcu/media"
	"math"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/vpx"
)

func TestProbeRate(t *testing.T) {
	for _, kb := range []int{200, 400, 800} {
		enc, _ := vpx.NewEncoder(codec.VideoEncoderParams{Width: 640, Height: 360, FPS: 30, BitrateBps: kb * 1000})
		f := codectest.SolidFrame(640, 360, 0, 0, 0)
		buf := make([]byte, 0, 1<<20)
		var secs []int
		tot := 0
		for i := range 180 {
			codectest.MovingFrame(f, i)
			out, _, _ := enc.Encode(f, buf)
			tot += len(out)
			if i%30 == 29 {
				secs = append(secs, tot*8/1000)
				tot = 0
			}
		}
		t.Log(kb, secs)
		enc.Close()
	}
}

func TestProbePSNR(t *testing.T) {
	for _, s := range [][2]int{{640, 360}, {1280, 720}} {
		w, h := s[0], s[1]
		enc, _ := vpx.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
		dec, _ := vpx.NewDecoder()
		f := codectest.SolidFrame(w, h, 0, 0, 0)
		buf := make([]byte, 0, 1<<20)
		var sum float64
		tot := 0
		for i := range 90 {
			codectest.MovingFrame(f, i)
			out, _, _ := enc.Encode(f, buf)
			tot += len(out)
			pic, _ := dec.Decode(out)
			if i >= 30 {
				var se float64
				for y := range h {
					for x := range w {
						d := float64(pic.Y[y*pic.StrideY+x]) - float64(f.Y[y*f.StrideY+x])
						se += d * d
					}
				}
				sum += 10 * math.Log10(255*255/max(se/float64(w*h), 1e-9))
			}
		}
		t.Logf("%dx%d PSNR %.2f dB %d kb/s", w, h, sum/60, tot*8/3/1000)
		enc.Close()
		dec.Close()
	}
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestProbeCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, s := range [][2]int{{640, 360}, {1280, 720}} {
		w, h := s[0], s[1]
		enc, _ := vpx.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
		pics := make([]*media.VideoFrame, 30)
		for i := range pics {
			pics[i] = codectest.SolidFrame(w, h, 0, 0, 0)
			codectest.MovingFrame(pics[i], i)
		}
		buf := make([]byte, 0, 1<<20)
		for i := range 10 {
			enc.Encode(pics[i], buf)
		}
		c0, t0 := threadCPU(), time.Now()
		const n = 150
		for i := range n {
			j := (i + 10) % 58
			if j >= 30 {
				j = 58 - j
			}
			enc.Encode(pics[j], buf)
		}
		t.Logf("%dx%d encode cpu %.2f ms/frame wall %.2f ms/frame", w, h, float64((threadCPU()-c0).Microseconds())/1000/n, float64(time.Since(t0).Microseconds())/1000/n)
		enc.Close()
	}
}
