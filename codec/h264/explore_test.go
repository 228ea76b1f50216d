package h264_test

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/h264"
	"github.com/mcu-project/mcu/media"
)

func psnr(a, b *media.VideoFrame) float64 {
	var se float64
	for y := range a.Height {
		for x := range a.Width {
			d := float64(a.Y[y*a.StrideY+x]) - float64(b.Y[y*b.StrideY+x])
			se += d * d
		}
	}
	mse := se / float64(a.Width*a.Height)
	return 10 * math.Log10(255*255/max(mse, 1e-9))
}

func TestExplorePreset(t *testing.T) {
	for _, s := range [][2]int{{640, 360}, {1280, 720}} {
		w, h := s[0], s[1]
		enc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
		if err != nil {
			t.Fatal(err)
		}
		dec, _ := h264.NewDecoder()
		pics := make([]*media.VideoFrame, 30)
		for i := range pics {
			pics[i] = codectest.SolidFrame(w, h, 0, 0, 0)
			codectest.MovingFrame(pics[i], i)
		}
		buf := make([]byte, 0, 1<<20)
		var total int
		var el time.Duration
		var ps float64
		const n = 240
		for i := range n {
			j := i % 58
			if j >= 30 {
				j = 58 - j
			}
			t0 := time.Now()
			out, _, err := enc.Encode(pics[j], buf)
			el += time.Since(t0)
			if err != nil {
				t.Fatal(err)
			}
			total += len(out)
			pic, err := dec.Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			if i >= 60 {
				ps += psnr(pic, pics[j])
			}
		}
		fmt.Printf("%s %dx%d: %.2f ms/frame, %d kb/s, PSNR %.2f dB\n", os.Getenv("H264_PRESET"), w, h, float64(el.Microseconds())/n/1000, total*8*30/n/1000, ps/(n-60))
		enc.Close()
		dec.Close()
	}
}
