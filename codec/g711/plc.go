package g711

import "math"

// Packet-loss concealment at 8 kHz, a simplified ITU-T G.711 Appendix I
// (see Decoder.Conceal). All lengths are in 8 kHz samples.
const (
	pitchMin  = 40  // 5 ms, 200 Hz
	pitchMax  = 120 // 15 ms, 66.7 Hz
	corrLen   = 160 // 20 ms of history correlated per candidate period
	histLen   = pitchMax + corrLen
	holdLen   = 80  // full level for the first 10 ms of a loss
	fadeEnd   = 480 // silent from 60 ms on
	recoverXF = 32  // 4 ms cross-fade back into real audio
)

type plcMode uint8

const (
	plcNormal plcMode = iota
	plcConcealing
	plcRecovering
)

// concealer keeps the decoded history and synthesises lost audio.
type concealer struct {
	hist   [histLen]int16 // the last histLen output samples, oldest first
	mode   plcMode
	lost   int               // samples synthesised in this loss
	period int               // pitch period in use
	pos    int               // read position in pbuf
	pbuf   [pitchMax]float64 // one period, loop point smoothed
	xf     int               // cross-fade samples done while recovering
}

// remember appends s to the history.
func (c *concealer) remember(s []int16) {
	if len(s) >= histLen {
		copy(c.hist[:], s[len(s)-histLen:])
		return
	}
	copy(c.hist[:], c.hist[len(s):])
	copy(c.hist[histLen-len(s):], s)
}

// received passes decoded samples through, cross-fading out of a loss.
func (c *concealer) received(s []int16) {
	if c.mode == plcConcealing {
		c.mode, c.xf = plcRecovering, 0
	}
	if c.mode == plcRecovering {
		for i := range s {
			if c.xf == recoverXF {
				c.mode = plcNormal
				break
			}
			w := float64(c.xf+1) / (recoverXF + 1)
			s[i] = clamp16(w*float64(s[i]) + (1-w)*c.next())
			c.xf++
		}
		if c.xf == recoverXF {
			c.mode = plcNormal
		}
	}
	c.remember(s)
}

// conceal fills s with synthetic audio.
func (c *concealer) conceal(s []int16) {
	if c.mode != plcConcealing {
		c.start()
	}
	for i := range s {
		s[i] = clamp16(c.next())
	}
	c.remember(s)
}

// start begins a loss: find the pitch period and copy the last period out
// of the history.
func (c *concealer) start() {
	c.mode, c.lost, c.pos = plcConcealing, 0, 0
	c.period = c.pitch()
	p, h := c.period, c.hist[:]
	for i := range p {
		c.pbuf[i] = float64(h[histLen-p+i])
	}
	// Blend the period's last quarter into what preceded its first sample,
	// so that looping from pbuf[p−1] back to pbuf[0] is continuous.
	q := p / 4
	for j := range q {
		w := float64(j+1) / float64(q+1)
		c.pbuf[p-q+j] = (1-w)*float64(h[histLen-q+j]) + w*float64(h[histLen-p-q+j])
	}
}

// pitch returns the period in [pitchMin, pitchMax] whose lag best
// correlates (normalised: xy/√yy) the last corrLen samples with the history.
// Integer sums are exact; the lagged window's energy slides along.
func (c *concealer) pitch() int {
	h := c.hist[:]
	ref := h[histLen-corrLen:]
	var yy int64
	for _, v := range h[histLen-corrLen-pitchMin : histLen-pitchMin] {
		yy += int64(v) * int64(v)
	}
	best, bestScore := pitchMax, 0.0
	for p := pitchMin; p <= pitchMax; p++ {
		lag := h[histLen-corrLen-p : histLen-p]
		lag = lag[:len(ref)]
		var xy int64
		for i, v := range ref {
			xy += int64(v) * int64(lag[i])
		}
		if yy > 0 && xy > 0 {
			if score := float64(xy) / math.Sqrt(float64(yy)); score > bestScore*1.0001 {
				best, bestScore = p, score
			}
		}
		if p < pitchMax { // slide the lagged window one sample earlier
			in, out := int64(h[histLen-corrLen-p-1]), int64(h[histLen-p-1])
			yy += in*in - out*out
		}
	}
	return best
}

// next returns the next synthetic sample and advances the loss.
func (c *concealer) next() float64 {
	g := 1.0
	switch {
	case c.lost >= fadeEnd:
		g = 0
	case c.lost > holdLen:
		g = float64(fadeEnd-c.lost) / (fadeEnd - holdLen)
	}
	v := g * c.pbuf[c.pos]
	c.pos++
	if c.pos == c.period {
		c.pos = 0
	}
	if c.lost < fadeEnd {
		c.lost++
	}
	return v
}

func clamp16(v float64) int16 {
	return int16(math.Round(max(-32768, min(32767, v))))
}
