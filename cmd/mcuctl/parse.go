package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
)

// newFlagSet returns a flag set that reports errors to its caller only.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, which it returns in order. "--" ends the
// flags; negative numbers ("-6") are positional, so a gain can be given
// as is.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return append(pos, args[1:]...), nil
		case a == "-" || !strings.HasPrefix(a, "-") || isNumber(a):
			pos = append(pos, a)
			args = args[1:]
			continue
		}
		// One flag (and its value, if it takes one and is not given as
		// -name=value) at a time.
		name := strings.TrimLeft(a, "-")
		n := 1
		if !strings.Contains(name, "=") {
			if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && len(args) > 1 {
				n = 2
			}
		}
		if err := fs.Parse(args[:n]); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	return pos, nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSuffix(s, "dB"), "db"), 64)
	return err == nil
}

// canvas is a parsed --canvas: WIDTHxHEIGHT, optionally @FPS (0: the
// server's default).
type canvas struct{ w, h, fps uint32 }

func parseCanvas(s string) (canvas, error) {
	var c canvas
	size, fps, hasFPS := strings.Cut(s, "@")
	ws, hs, ok := strings.Cut(size, "x")
	if !ok {
		return c, fmt.Errorf("canvas %q: want WIDTHxHEIGHT[@FPS], e.g. 1280x720@30", s)
	}
	var err error
	if c.w, err = positive(ws); err == nil {
		c.h, err = positive(hs)
	}
	if err == nil && hasFPS {
		c.fps, err = positive(fps)
	}
	if err != nil {
		return c, fmt.Errorf("canvas %q: want WIDTHxHEIGHT[@FPS], e.g. 1280x720@30", s)
	}
	return c, nil
}

func positive(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err == nil && v == 0 {
		err = errors.New("zero")
	}
	return uint32(v), err
}

// parseCodecs splits "VP8,H264"; the server checks the names.
func parseCodecs(s string) ([]string, error) {
	var out []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c == "" {
			return nil, fmt.Errorf("codecs %q: want a comma-separated list, e.g. VP8,H264", s)
		}
		out = append(out, strings.ToUpper(c))
	}
	return out, nil
}

// regionSyntax is the --region format, for messages.
const regionSyntax = "x,y,w,h[,z][,fit][,who]"

// parseRegion parses x,y,w,h[,z][,fit][,who]. The optional fields are
// taken in that order, each skipped when the next field does not fit it
// (an integer is a z, contain/cover a fit, anything else who); an empty
// field takes the default (z 0, contain, next free participant), so
// "0,0,1,1,,,1234" names participant 1234 rather than z 1234.
func parseRegion(s string) (*mcuv1.Region, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("region %q: %s (want %s)", s, fmt.Sprintf(format, args...), regionSyntax)
	}
	f := strings.Split(s, ",")
	if len(f) < 4 {
		return nil, bad("need at least x,y,w,h")
	}
	if len(f) > 7 {
		return nil, bad("too many fields")
	}
	var xywh [4]float64
	for i, name := range []string{"x", "y", "w", "h"} {
		v, err := strconv.ParseFloat(strings.TrimSpace(f[i]), 64)
		if err != nil {
			return nil, bad("%s %q is not a number", name, f[i])
		}
		xywh[i] = v
	}
	r := &mcuv1.Region{X: xywh[0], Y: xywh[1], W: xywh[2], H: xywh[3], Fit: mcuv1.Fit_FIT_CONTAIN}
	rest := f[4:]
	for i := range rest {
		rest[i] = strings.TrimSpace(rest[i])
	}
	// z
	if len(rest) > 0 {
		if rest[0] == "" {
			rest = rest[1:]
		} else if z, err := strconv.ParseInt(rest[0], 10, 32); err == nil {
			r.Z, rest = int32(z), rest[1:]
		} else if len(rest) == 3 {
			return nil, bad("z %q is not an integer", rest[0])
		}
	}
	// fit
	if len(rest) > 0 {
		switch strings.ToLower(rest[0]) {
		case "":
			rest = rest[1:]
		case "contain":
			r.Fit, rest = mcuv1.Fit_FIT_CONTAIN, rest[1:]
		case "cover":
			r.Fit, rest = mcuv1.Fit_FIT_COVER, rest[1:]
		default:
			if len(rest) == 2 {
				return nil, bad("fit %q: contain or cover", rest[0])
			}
		}
	}
	// who
	if len(rest) > 1 {
		return nil, bad("fields out of order")
	}
	if len(rest) == 1 {
		switch w := rest[0]; strings.ToLower(w) {
		case "", "next":
			r.Source = &mcuv1.Region_NextFree{NextFree: true}
		case "speaker":
			r.Source = &mcuv1.Region_ActiveSpeaker{ActiveSpeaker: true}
		case "presentation":
			r.Source = &mcuv1.Region_Presentation{Presentation: true}
		default:
			r.Source = &mcuv1.Region_ParticipantId{ParticipantId: w}
		}
	}
	return r, nil
}

// regionList is the repeatable --region flag.
type regionList []*mcuv1.Region

func (l *regionList) String() string { return "" }

func (l *regionList) Set(s string) error {
	r, err := parseRegion(s)
	if err != nil {
		return err
	}
	*l = append(*l, r)
	return nil
}

// parseLayoutType parses grid, speaker, pip, presentation or custom.
func parseLayoutType(s string) (mcuv1.LayoutType, bool) {
	switch strings.ToLower(s) {
	case "grid":
		return mcuv1.LayoutType_LAYOUT_TYPE_GRID, true
	case "speaker":
		return mcuv1.LayoutType_LAYOUT_TYPE_SPEAKER, true
	case "pip":
		return mcuv1.LayoutType_LAYOUT_TYPE_PIP, true
	case "custom":
		return mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM, true
	case "presentation":
		return mcuv1.LayoutType_LAYOUT_TYPE_PRESENTATION, true
	}
	return 0, false
}

// parseGain parses a gain in dB, "-6" or "-6dB".
func parseGain(s string) (float64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "dB"), "db")
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil {
		return 0, fmt.Errorf("gain %q is not a number of dB", s)
	}
	return v, nil
}
