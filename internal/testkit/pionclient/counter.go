package pionclient

import (
	"math"

	"github.com/mcu-project/mcu/media"
)

// The frame counter is a band of counterCells cells across a camera
// picture, in its second eighth of rows and a sixteenth of its width in from
// either side (clear of the border the compositor draws around a talking
// participant's tile, at most an eighth of its height), each 1/14 of the
// band's width and 1/8 of the picture's height: a black
// and a white guard, the camera's ID in counterIDBits cells, then the
// frame number modulo CounterPeriod in counterNBits cells, most significant
// bit first, a 1 white and a 0 black. Big flat cells survive scaling and
// lossy coding, so the number can be read back from the MCU's composite to
// tell which sent frame a composite shows.
const (
	counterIDBits = 3
	counterNBits  = 9
	counterCells  = 2 + counterIDBits + counterNBits
	// CounterPeriod is where the painted frame number wraps: the counter
	// shows n mod CounterPeriod.
	CounterPeriod = 1 << counterNBits
	// MaxCounterID is the largest VideoOptions.ID the counter can carry.
	MaxCounterID = 1<<counterIDBits - 1

	counterBlack, counterWhite = 16, 235
	counterThreshold           = (counterBlack + counterWhite) / 2
	// A cell whose average lies between these is neither black nor white:
	// the reader is looking at something else (or at a blend of cells).
	counterDarkMax, counterLightMin = 70, 180
	// counterInset: the band starts width/counterInset from the left edge
	// and ends as far from the right one.
	counterInset = 16
	// minCounterCell is the smallest cell side, in pixels, worth reading.
	minCounterCell = 4
)

// counterWord is the band's cells as bits, cell 0 the most significant.
func counterWord(id, n int) int {
	return 1<<(counterCells-2) | (id&MaxCounterID)<<counterNBits | n&(CounterPeriod-1)
}

// paintCounter paints the counter band of camera id's frame n into pic's
// luma (the chroma under it keeps the camera colour).
func paintCounter(pic *media.VideoFrame, id, n int) {
	inset := pic.Width / counterInset
	cw, ch := (pic.Width-2*inset)/counterCells, pic.Height/8
	word := counterWord(id, n)
	for i := range counterCells {
		v := byte(counterBlack)
		if word>>(counterCells-1-i)&1 == 1 {
			v = counterWhite
		}
		for y := ch; y < 2*ch; y++ {
			row := pic.Y[y*pic.StrideY+inset+i*cw:]
			for x := range cw {
				row[x] = v
			}
		}
	}
}

// ReadCounter reads the counter band of a camera picture shown at x, y,
// w×h in f, possibly scaled (the whole picture: a composite tile's content
// rectangle, without its letterbox bars). It averages the luma over the central half
// of each cell, thresholded halfway between black and white, and returns
// the camera's ID and the frame number modulo CounterPeriod. ok is false
// when the rectangle is outside f or too small to read (cells under 4×4
// pixels), when a cell is neither clearly black nor clearly white, or when
// the guards are not black then white: the picture there has no counter.
func ReadCounter(f *media.VideoFrame, x, y, w, h int) (id, n int, ok bool) {
	if f == nil || x < 0 || y < 0 || w <= 0 || h <= 0 || x+w > f.Width || y+h > f.Height ||
		f.StrideY < f.Width || len(f.Y) < (f.Height-1)*f.StrideY+f.Width {
		return 0, 0, false
	}
	inset := int(math.Round(float64(w) / counterInset))
	x, w = x+inset, w-2*inset
	nominal, cellH := float64(w)/counterCells, float64(h)/8
	if nominal < minCounterCell || cellH < minCounterCell {
		return 0, 0, false
	}
	y0, y1 := y+int(math.Round(cellH*5/4)), y+int(math.Round(cellH*7/4))
	// The painter rounds the cell width down, so the band can end up to
	// 13 source pixels short of the picture's right edge, and the last
	// cells lie up to half a cell left of multiples of w/14 (a 320-pixel
	// camera): take the cell width from the edge between the guards
	// instead (searched from the
	// middle of the black guard, clear of whatever is left of the picture).
	// It is at least 3/4 of w/14 for any camera with 4-pixel cells, and
	// at most what keeps the last cell's central half inside the
	// rectangle.
	cellW, ok := guardEdge(f, x, x+int(math.Round(nominal/2)), x+int(math.Round(2*nominal)), y0, y1)
	if !ok || cellW < minCounterCell || cellW < 0.75*nominal || cellW > float64(w)/(counterCells-0.25) {
		return 0, 0, false
	}
	word := 0
	for i := range counterCells {
		x0 := x + int(math.Round((float64(i)+0.25)*cellW))
		x1 := x + int(math.Round((float64(i)+0.75)*cellW))
		m := meanLuma(f, x0, x1, y0, y1)
		if m > counterDarkMax && m < counterLightMin {
			return 0, 0, false
		}
		word <<= 1
		if m >= counterThreshold {
			word |= 1
		}
	}
	if word>>(counterCells-2) != 0b01 {
		return 0, 0, false
	}
	return word >> counterNBits & MaxCounterID, word & (CounterPeriod - 1), true
}

// guardEdge finds, to a fraction of a pixel, where the column averages of
// rows [y0, y1) first rise through the threshold between xs (inside the
// black guard) and xe, and returns that edge's distance from x: the width
// of one cell.
func guardEdge(f *media.VideoFrame, x, xs, xe, y0, y1 int) (float64, bool) {
	prev := meanLuma(f, xs, xs+1, y0, y1)
	if prev >= counterThreshold {
		return 0, false
	}
	for j := xs + 1; j < xe; j++ {
		m := meanLuma(f, j, j+1, y0, y1)
		if m >= counterThreshold {
			// Pixel centres are at j+0.5: interpolate between them.
			return float64(j-1-x) + 0.5 + (counterThreshold-prev)/(m-prev), true
		}
		prev = m
	}
	return 0, false
}

// meanLuma averages f's luma over [x0, x1)×[y0, y1).
func meanLuma(f *media.VideoFrame, x0, x1, y0, y1 int) float64 {
	sum := 0
	for y := y0; y < y1; y++ {
		for _, v := range f.Y[y*f.StrideY+x0 : y*f.StrideY+x1] {
			sum += int(v)
		}
	}
	return float64(sum) / float64((x1-x0)*(y1-y0))
}
