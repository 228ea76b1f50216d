package compositor

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/mcu-project/mcu/media"
)

// yuv is a video-range colour.
type yuv struct {
	name    string
	y, u, v byte
}

var (
	red   = yuv{"red", 81, 90, 240}
	green = yuv{"green", 145, 54, 34}
	blue  = yuv{"blue", 41, 240, 110}
	white = yuv{"white", 235, 128, 128}
	black = yuv{"black", BlackY, NeutralUV, NeutralUV}
)

// newFrame allocates a w×h frame whose rows are padded by pad bytes (so
// strides differ from widths) and paints it c.
func newFrame(tb testing.TB, w, h, pad int, c yuv) *media.VideoFrame {
	tb.Helper()
	cw, ch := (w+1)/2, (h+1)/2
	f := &media.VideoFrame{
		Width: w, Height: h,
		StrideY: w + pad, StrideU: cw + pad, StrideV: cw + pad + 3,
	}
	f.Y = make([]byte, f.StrideY*h)
	f.U = make([]byte, f.StrideU*ch)
	f.V = make([]byte, f.StrideV*ch)
	// Garbage in the padding must never show up in the output.
	fillBytes(f.Y, 0xEE)
	fillBytes(f.U, 0x11)
	fillBytes(f.V, 0x22)
	f.Fill(c.y, c.u, c.v)
	return f
}

func absDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// checkColour fails if the canvas pixel at (x, y) is not c within tol.
func checkColour(t *testing.T, f *media.VideoFrame, x, y int, c yuv, tol int, what string) {
	t.Helper()
	gy, gu, gv := f.At(x, y)
	if absDiff(gy, c.y) > tol || absDiff(gu, c.u) > tol || absDiff(gv, c.v) > tol {
		t.Errorf("%s at (%d,%d): got YUV %d,%d,%d, want %s %d,%d,%d ±%d", what, x, y, gy, gu, gv, c.name, c.y, c.u, c.v, tol)
	}
}

// dumpPNG writes f as an RGB PNG under $COMPOSITOR_DUMP (if set), for
// looking at layouts and placeholders by eye.
func dumpPNG(tb testing.TB, f *media.VideoFrame, name string) {
	dir := os.Getenv("COMPOSITOR_DUMP")
	if dir == "" {
		return
	}
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	for y := range f.Height {
		for x := range f.Width {
			yy, u, v := f.At(x, y)
			c := color.YCbCr{Y: byte(min(255, max(0, (int(yy)-16)*255/219))), Cb: u, Cr: v}
			r, g, b, _ := c.RGBA()
			img.Set(x, y, color.RGBA{byte(r >> 8), byte(g >> 8), byte(b >> 8), 255})
		}
	}
	fh, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	if err := png.Encode(fh, img); err != nil {
		tb.Fatal(err)
	}
}

func size(w, h int) string { return fmt.Sprintf("%dx%d", w, h) }
