package pionclient

import "github.com/mcu-project/mcu/media"

// paintDetail overlays frame n's fine moving detail on pic (VideoOptions.
// Detail): a checkerboard of 4×4-pixel cells of ±40 luma over the lower
// half of the picture, scrolling 3 pixels right and 1 down per frame. Every
// block changes every frame with edges a block-based encoder cannot
// predict from motion alone, the hardest content a rate control meets.
func paintDetail(pic *media.VideoFrame, n int) {
	for y := pic.Height / 2; y < pic.Height; y++ {
		row := pic.Y[y*pic.StrideY : y*pic.StrideY+pic.Width]
		cy := (y + n) / 4
		for x := range row {
			v := int(row[x]) - 40
			if ((x+3*n)/4+cy)%2 == 0 {
				v += 80
			}
			row[x] = byte(min(max(v, 16), 235))
		}
	}
}
