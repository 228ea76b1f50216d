package room

// overlayUnit is the smallest font unit of the canvas's labels: the
// canvas is scaled down for the smallest rung by up to this factor, and a
// label is legible there only if each font unit stays a pixel.
func (r *Room) overlayUnit() int {
	k := 1
	for _, rg := range r.rungs {
		if rg.Width > 0 {
			k = max(k, (r.canvas.Width+rg.Width-1)/rg.Width)
		}
	}
	return k
}
