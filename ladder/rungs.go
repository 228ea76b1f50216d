package ladder

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mcu-project/mcu/codec"
)

// Rung is one step of a bitrate ladder: the canvas scaled to Width×Height
// at FPS (which divides the canvas rate) and encoded at BitrateBps.
type Rung struct {
	Width, Height, FPS, BitrateBps int
}

// MaxRungs bounds a ladder.
const MaxRungs = 3

// MinBitrate and MaxBitrate bound a rung's bitrate: below 16 kb/s no codec
// makes a picture, above 20 Mb/s a client asked for more than any
// conference canvas needs.
const (
	MinBitrate = 16_000
	MaxBitrate = 20_000_000
)

// Syntax is the text form of a ladder, for messages.
const Syntax = "WxH@FPS:BITRATE[,...]"

// ErrBadLadder reports a ladder that does not fit its canvas or is not
// written as Syntax.
var ErrBadLadder = errors.New("ladder")

// Default is the canvas at full size and rate, half size, and quarter size
// at half rate (for a 1280×720@30 canvas: 1.5 Mb/s, 600 kb/s, 100 kb/s).
// bitrate is the top rung's (0: the codec default for the canvas). The
// lowest rung fits a 300 kb/s link with the audio and the packets'
// headers, and leaves a probe room: on the wire Opus at its top rate
// takes about 60 kb/s, and video's headers add 5–10 %.
func Default(width, height, fps, bitrate int) []Rung {
	if bitrate <= 0 {
		bitrate = codec.DefaultVideoBitrate(width, height, fps)
	}
	half := func(v int) int { return max(v/2&^1, 16) }
	w2, h2 := half(width), half(height)
	w4, h4 := half(w2), half(h2)
	f4 := fps
	if fps%2 == 0 {
		f4 = fps / 2
	}
	return []Rung{
		{width, height, fps, bitrate},
		{w2, h2, fps, min(codec.DefaultVideoBitrate(w2, h2, fps), bitrate*2/5)},
		{w4, h4, f4, max(min(codec.DefaultVideoBitrate(w4, h4, f4), bitrate/15), MinBitrate)},
	}
}

// Validate checks rungs against a width×height canvas at fps: at most
// MaxRungs, each no larger than the canvas, at a rate that divides the
// canvas's, and bitrates strictly decreasing from the top.
func Validate(rungs []Rung, width, height, fps int) error {
	if len(rungs) > MaxRungs {
		return fmt.Errorf("%w: %d rungs (at most %d)", ErrBadLadder, len(rungs), MaxRungs)
	}
	for i, r := range rungs {
		switch {
		case r.Width < 16 || r.Height < 16 || r.Width%2 != 0 || r.Height%2 != 0 || r.Width > width || r.Height > height:
			return fmt.Errorf("%w: rung %d is %dx%d (even, 16 up to the %dx%d canvas)", ErrBadLadder, i, r.Width, r.Height, width, height)
		case r.FPS < 1 || r.FPS > fps || fps%r.FPS != 0:
			return fmt.Errorf("%w: rung %d at %d fps (must divide the canvas's %d fps)", ErrBadLadder, i, r.FPS, fps)
		case r.BitrateBps < MinBitrate || r.BitrateBps > MaxBitrate || (i > 0 && r.BitrateBps >= rungs[i-1].BitrateBps):
			return fmt.Errorf("%w: rung %d at %d b/s (%d to %d, below the rung above)", ErrBadLadder, i, r.BitrateBps, MinBitrate, MaxBitrate)
		}
	}
	return nil
}

// Rates are the rungs' bitrates, top first: a Config's Rates.
func Rates(rungs []Rung) []int {
	rates := make([]int, len(rungs))
	for i, r := range rungs {
		rates[i] = r.BitrateBps
	}
	return rates
}

// Parse reads rungs written WxH@FPS:BITRATE, comma-separated, top first;
// BITRATE is in b/s with an optional k or M suffix ("1.5M", "600k"). Only
// the syntax is checked here: Validate checks the ladder against a canvas.
func Parse(s string) ([]Rung, error) {
	var out []Rung
	for _, f := range strings.Split(s, ",") {
		r, err := parseRung(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%w %q: rung %q: %w (want %s, e.g. 1280x720@30:1500k,640x360@30:600k)", ErrBadLadder, s, f, err, Syntax)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseRung(s string) (Rung, error) {
	var r Rung
	size, rest, ok := strings.Cut(s, "@")
	if !ok {
		return r, errors.New("no @FPS")
	}
	fps, rate, ok := strings.Cut(rest, ":")
	if !ok {
		return r, errors.New("no :BITRATE")
	}
	w, h, ok := strings.Cut(size, "x")
	if !ok {
		return r, errors.New("size is not WxH")
	}
	for _, v := range []struct {
		name, text string
		dst        *int
	}{{"width", w, &r.Width}, {"height", h, &r.Height}, {"fps", fps, &r.FPS}} {
		n, err := strconv.ParseUint(v.text, 10, 31)
		if err != nil || n == 0 {
			return r, fmt.Errorf("%s %q is not a positive integer", v.name, v.text)
		}
		*v.dst = int(n)
	}
	var err error
	r.BitrateBps, err = parseBitrate(rate)
	return r, err
}

// parseBitrate parses b/s with an optional k (10³) or M (10⁶) suffix,
// exactly (decimal digits, not floats: "0.3M" is 300000).
func parseBitrate(s string) (int, error) {
	bad := fmt.Errorf("bitrate %q is not a positive whole number of b/s (k and M suffixes allowed)", s)
	num, exp := s, 0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		num, exp = s[:len(s)-1], 3
	case strings.HasSuffix(s, "M"):
		num, exp = s[:len(s)-1], 6
	}
	whole, frac, _ := strings.Cut(num, ".")
	frac = strings.TrimRight(frac, "0")
	if whole == "" || len(frac) > exp || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, bad
	}
	v, err := strconv.ParseUint(whole+frac+strings.Repeat("0", exp-len(frac)), 10, 31)
	if err != nil || v == 0 {
		return 0, bad
	}
	return int(v), nil
}

// Format writes rungs as Parse reads them.
func Format(rungs []Rung) string {
	parts := make([]string, len(rungs))
	for i, r := range rungs {
		parts[i] = fmt.Sprintf("%dx%d@%d:%s", r.Width, r.Height, r.FPS, formatBitrate(r.BitrateBps))
	}
	return strings.Join(parts, ",")
}

func formatBitrate(bps int) string {
	switch {
	case bps != 0 && bps%1_000_000 == 0:
		return strconv.Itoa(bps/1_000_000) + "M"
	case bps != 0 && bps%1000 == 0:
		return strconv.Itoa(bps/1000) + "k"
	}
	return strconv.Itoa(bps)
}
