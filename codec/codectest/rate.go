package codectest

import (
	"math/rand/v2"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// HardFrame paints frame n of the hardest content a rung meets: the
// MovingFrame scene with noise that changes in every frame (a window of
// noise, whose offset rng picks) and a fine checkerboard scrolling over its
// lower half, so no block can be predicted from the last frame.
func HardFrame(f *media.VideoFrame, n int, noise []int8, rng *rand.Rand) {
	MovingFrame(f, n)
	off := rng.IntN(len(noise) - f.Width*f.Height)
	for r := 0; r < f.Height; r++ {
		row := f.Y[r*f.StrideY : r*f.StrideY+f.Width]
		nr := noise[off+r*f.Width : off+(r+1)*f.Width]
		check := r >= f.Height/2
		cy := (r + n) / 4
		for c := range row {
			v := int(row[c]) + int(nr[c])
			if check {
				if ((c+3*n)/4+cy)%2 == 0 {
					v += 40
				} else {
					v -= 40
				}
			}
			row[c] = byte(min(max(v, 16), 235))
		}
	}
}

// hardNoise is noise for HardFrame of w×h pictures: ±4 luma, twice the
// picture's size so that every offset leaves a picture's worth.
func hardNoise(w, h int, rng *rand.Rand) []int8 {
	noise := make([]int8, 2*w*h)
	for i := range noise {
		noise[i] = int8(rng.IntN(8) - 4)
	}
	return noise
}

// RateWindow is how long a rung's rate is judged over.
const RateWindow = 2

// MaxWindowRate encodes seconds of HardFrame at p, forcing a keyframe
// every keyEvery seconds (as receivers' requests and rung switches do; 0:
// none), and returns the highest rate, in b/s, of any RateWindow seconds
// of the output after the first (the first keyframe and the rate control
// settling), and the frames the encoder dropped.
func MaxWindowRate(tb testing.TB, c codec.VideoCodec, p codec.VideoEncoderParams, seconds, keyEvery int) (maxBps float64, dropped int) {
	tb.Helper()
	enc := NewEncoder(tb, c, p)
	f, err := media.NewVideoFrame(p.Width, p.Height)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	noise := hardNoise(p.Width, p.Height, rng)
	sizes := make([]int, 0, seconds*p.FPS)
	var out []byte
	for n := range seconds * p.FPS {
		HardFrame(f, n, noise, rng)
		if kc, ok := enc.(codec.KeyFrameController); ok && keyEvery > 0 && n > 0 && n%(keyEvery*p.FPS) == 0 {
			kc.ForceKeyFrame()
		}
		if out, _, err = enc.Encode(f, out[:0]); err != nil {
			tb.Fatal(err)
		}
		if len(out) == 0 {
			dropped++
		}
		sizes = append(sizes, len(out))
	}
	win := RateWindow * p.FPS
	sum := 0
	for i := p.FPS; i < len(sizes); i++ {
		sum += sizes[i]
		if i >= p.FPS+win {
			sum -= sizes[i-win]
		}
		if i >= p.FPS+win-1 {
			maxBps = max(maxBps, float64(sum)*8/RateWindow)
		}
	}
	return maxBps, dropped
}

// RungsKeepTheirRate checks that, on HardFrame content with a keyframe
// forced every 3 s, every rung of the default 720p ladder (and the test
// ladder's lowest) stays within 10 % of its rate over any RateWindow.
func RungsKeepTheirRate(t *testing.T, c codec.VideoCodec) {
	if testing.Short() {
		t.Skip("encodes 8 s of video per rung")
	}
	for _, p := range []codec.VideoEncoderParams{
		{Width: 160, Height: 90, FPS: 15, BitrateBps: 100_000},
		{Width: 320, Height: 180, FPS: 15, BitrateBps: 100_000},
		{Width: 640, Height: 360, FPS: 30, BitrateBps: 600_000},
		{Width: 1280, Height: 720, FPS: 30, BitrateBps: 1_500_000},
	} {
		maxBps, dropped := MaxWindowRate(t, c, p, 8, 3)
		over := maxBps/float64(p.BitrateBps) - 1
		t.Logf("%dx%d@%d at %d kb/s: at most %.0f kb/s over %d s (%+.0f %%), %d frames dropped", p.Width, p.Height, p.FPS, p.BitrateBps/1000, maxBps/1000, RateWindow, 100*over, dropped)
		if over > 0.1 {
			t.Errorf("%dx%d@%d at %d kb/s: %.0f kb/s over %d s, more than 10 %% over", p.Width, p.Height, p.FPS, p.BitrateBps/1000, maxBps/1000, RateWindow)
		}
	}
}
