package api

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/room"
)

// LadderSyntax is the text form of a ladder, for messages.
const LadderSyntax = "WxH@FPS:BITRATE[,...]"

// ParseLadder parses rungs written WxH@FPS:BITRATE, comma-separated, top
// first; BITRATE is in b/s with an optional k or M suffix ("1.5M",
// "600k"). Only the syntax is checked here: room.Options.Validate checks
// the ladder against the canvas.
func ParseLadder(s string) ([]room.Rung, error) {
	var out []room.Rung
	for _, f := range strings.Split(s, ",") {
		r, err := parseRung(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("ladder %q: rung %q: %w (want %s, e.g. 1280x720@30:1500k,640x360@30:600k)", s, f, err, LadderSyntax)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseRung(s string) (room.Rung, error) {
	var r room.Rung
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

// FormatLadder writes rungs as ParseLadder reads them.
func FormatLadder(rungs []room.Rung) string {
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

// LadderToProto converts rungs to their mcu.v1 form.
func LadderToProto(rungs []room.Rung) []*mcuv1.Rung {
	var out []*mcuv1.Rung
	for _, r := range rungs {
		out = append(out, &mcuv1.Rung{Width: uint32(r.Width), Height: uint32(r.Height), Fps: uint32(r.FPS), BitrateBps: uint32(r.BitrateBps)})
	}
	return out
}

// LadderFromProto converts mcu.v1 rungs.
func LadderFromProto(rungs []*mcuv1.Rung) []room.Rung {
	var out []room.Rung
	for _, r := range rungs {
		out = append(out, room.Rung{Width: int(r.GetWidth()), Height: int(r.GetHeight()), FPS: int(r.GetFps()), BitrateBps: int(r.GetBitrateBps())})
	}
	return out
}
