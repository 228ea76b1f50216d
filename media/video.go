package media

import "fmt"

// VideoClockRate is the RTP clock rate of every video codec we carry.
const VideoClockRate = 90000

// VideoFrame is one I420 picture: a full-resolution luma plane and two
// chroma planes subsampled 2×2 (sizes rounded up for odd dimensions). The
// planes may be views into a decoder's or a canvas's memory: whoever hands a
// frame out says how long it stays valid.
type VideoFrame struct {
	Width, Height int
	Y, U, V       []byte
	// Strides are the bytes between the starts of consecutive rows; at
	// least Width for Y and ChromaWidth for U and V.
	StrideY, StrideU, StrideV int
}

// ChromaWidth and ChromaHeight are the chroma plane dimensions.
func (f *VideoFrame) ChromaWidth() int  { return (f.Width + 1) / 2 }
func (f *VideoFrame) ChromaHeight() int { return (f.Height + 1) / 2 }

// NewVideoFrame allocates a tightly packed w×h I420 frame (one allocation).
func NewVideoFrame(w, h int) (*VideoFrame, error) {
	if w <= 0 || h <= 0 || w > 8192 || h > 8192 {
		return nil, fmt.Errorf("media: bad video size %dx%d", w, h)
	}
	cw, ch := (w+1)/2, (h+1)/2
	buf := make([]byte, w*h+2*cw*ch)
	return &VideoFrame{
		Width: w, Height: h,
		Y: buf[:w*h], U: buf[w*h : w*h+cw*ch], V: buf[w*h+cw*ch:],
		StrideY: w, StrideU: cw, StrideV: cw,
	}, nil
}

// Fill paints the whole frame one YUV colour.
func (f *VideoFrame) Fill(y, u, v byte) {
	for r := 0; r < f.Height; r++ {
		row := f.Y[r*f.StrideY : r*f.StrideY+f.Width]
		for i := range row {
			row[i] = y
		}
	}
	cw, ch := f.ChromaWidth(), f.ChromaHeight()
	for r := 0; r < ch; r++ {
		ur := f.U[r*f.StrideU : r*f.StrideU+cw]
		vr := f.V[r*f.StrideV : r*f.StrideV+cw]
		for i := range ur {
			ur[i], vr[i] = u, v
		}
	}
}

// At returns the YUV values at pixel (x, y).
func (f *VideoFrame) At(x, y int) (yy, u, v byte) {
	return f.Y[y*f.StrideY+x], f.U[(y/2)*f.StrideU+x/2], f.V[(y/2)*f.StrideV+x/2]
}

// CopyFrom makes f a copy of src, reallocating f's planes only when the
// size changes (so a steady stream copies without allocating).
func (f *VideoFrame) CopyFrom(src *VideoFrame) {
	if f.Width != src.Width || f.Height != src.Height || len(f.Y) < src.Width*src.Height {
		n, err := NewVideoFrame(src.Width, src.Height)
		if err != nil {
			return // src's size was already validated by whoever made it
		}
		*f = *n
	}
	copyPlane(f.Y, f.StrideY, src.Y, src.StrideY, src.Width, src.Height)
	cw, ch := src.ChromaWidth(), src.ChromaHeight()
	copyPlane(f.U, f.StrideU, src.U, src.StrideU, cw, ch)
	copyPlane(f.V, f.StrideV, src.V, src.StrideV, cw, ch)
}

func copyPlane(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	for r := 0; r < h; r++ {
		copy(dst[r*dstStride:r*dstStride+w], src[r*srcStride:r*srcStride+w])
	}
}
