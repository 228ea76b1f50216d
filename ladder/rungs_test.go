package ladder_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mcu-project/mcu/ladder"
)

func TestParseLadder(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []ladder.Rung
		err  string
	}{
		{in: "1280x720@30:1500k,640x360@30:600k,320x180@15:150k", want: []ladder.Rung{rung(1280, 720, 30, 1_500_000), rung(640, 360, 30, 600_000), rung(320, 180, 15, 150_000)}},
		{in: "1920x1080@60:4M", want: []ladder.Rung{rung(1920, 1080, 60, 4_000_000)}},
		{in: " 1280x720@30:1.5M , 640x360@15:250000", want: []ladder.Rung{rung(1280, 720, 30, 1_500_000), rung(640, 360, 15, 250_000)}},
		{in: "640x360@30:0.3M,320x180@30:64.5k", want: []ladder.Rung{rung(640, 360, 30, 300_000), rung(320, 180, 30, 64_500)}},
		{in: "640x360@30:600K", want: []ladder.Rung{rung(640, 360, 30, 600_000)}},
		// Counts, sizes and order are the room's to check.
		{in: "16x16@1:1,16x16@1:2,16x16@1:3,16x16@1:4", want: []ladder.Rung{rung(16, 16, 1, 1), rung(16, 16, 1, 2), rung(16, 16, 1, 3), rung(16, 16, 1, 4)}},
		{in: "1280x720:1500k", err: `rung "1280x720:1500k": no @FPS`},
		{in: "1280x720@30", err: "no :BITRATE"},
		{in: "1280x720@30:0", err: `bitrate "0" is not a positive whole number`},
		{in: "1280x720@30:0k", err: `bitrate "0k"`},
		{in: "1280x720@30:1.5", err: `bitrate "1.5"`},
		{in: "1280x720@30:-5k", err: `bitrate "-5k"`},
		{in: "1280x720@30:fast", err: `bitrate "fast"`},
		{in: "1280x720@30:1500kbps", err: `bitrate "1500kbps"`},
		{in: "1280*720@30:1500k", err: "size is not WxH"},
		{in: "1280x@30:1500k", err: `height "" is not a positive integer`},
		{in: "0x720@30:1500k", err: `width "0"`},
		{in: "1280x720@0:1500k", err: `fps "0"`},
		{in: "1280x720@30:1500k,", err: `rung "": no @FPS`},
		{in: "", err: "no @FPS"},
		{in: "garbage", err: `ladder "garbage": rung "garbage": no @FPS (want WxH@FPS:BITRATE[,...]`},
	} {
		got, err := ladder.Parse(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.err == "" && !slices.Equal(got, tc.want):
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFormatLadder(t *testing.T) {
	rungs := []ladder.Rung{rung(1920, 1080, 30, 3_000_000), rung(1280, 720, 30, 1_500_000), rung(320, 180, 15, 64_500)}
	const want = "1920x1080@30:3M,1280x720@30:1500k,320x180@15:64500"
	if got := ladder.Format(rungs); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	back, err := ladder.Parse(want)
	if err != nil || !slices.Equal(back, rungs) {
		t.Fatalf("round trip: %v %v", back, err)
	}
}

func rung(w, h, fps, bps int) ladder.Rung {
	return ladder.Rung{Width: w, Height: h, FPS: fps, BitrateBps: bps}
}
