package media

import "testing"

func TestVideoFrameCopyAndFill(t *testing.T) {
	src, err := NewVideoFrame(33, 17) // odd sizes: chroma rounds up
	if err != nil {
		t.Fatal(err)
	}
	src.Fill(81, 90, 240)
	if src.ChromaWidth() != 17 || src.ChromaHeight() != 9 {
		t.Fatalf("chroma %dx%d", src.ChromaWidth(), src.ChromaHeight())
	}
	var dst VideoFrame
	dst.CopyFrom(src)
	if y, u, v := dst.At(32, 16); y != 81 || u != 90 || v != 240 {
		t.Fatalf("copied corner = %d,%d,%d", y, u, v)
	}
	y0 := &dst.Y[0]
	src.Fill(1, 2, 3)
	if allocs := testing.AllocsPerRun(10, func() { dst.CopyFrom(src) }); allocs != 0 || &dst.Y[0] != y0 {
		t.Fatalf("same-size copy allocated %v times", allocs)
	}
	for _, wh := range [][2]int{{0, 10}, {10, 0}, {-1, 5}, {9000, 10}} {
		if _, err := NewVideoFrame(wh[0], wh[1]); err == nil {
			t.Errorf("NewVideoFrame(%v) accepted", wh)
		}
	}
}
