package codec_test

import (
	"errors"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

func TestDefaultVideoBitrate(t *testing.T) {
	for _, c := range []struct{ w, h, fps, lo, hi int }{
		{1280, 720, 30, 1_450_000, 1_550_000},
		{640, 360, 30, 550_000, 650_000},
		{1920, 1080, 30, 2_500_000, 2_650_000},
		{1280, 720, 15, 1_000_000, 1_100_000},
		{160, 90, 30, 100_000, 150_000},
		{7680, 4320, 60, 8_000_000, 8_000_000},
		{1280, 720, 0, 1_450_000, 1_550_000}, // 0 fps: the default 30
	} {
		if got := codec.DefaultVideoBitrate(c.w, c.h, c.fps); got < c.lo || got > c.hi {
			t.Errorf("DefaultVideoBitrate(%d, %d, %d) = %d, want %d..%d", c.w, c.h, c.fps, got, c.lo, c.hi)
		}
	}
}

func TestCheckEncoderFrame(t *testing.T) {
	good, _ := media.NewVideoFrame(64, 36)
	short := *good
	short.U = short.U[:10]
	for _, c := range []struct {
		name string
		f    *media.VideoFrame
		ok   bool
	}{{"fits", good, true}, {"nil", nil, false}, {"short plane", &short, false}} {
		err := codec.CheckEncoderFrame(c.f, 64, 36, "test")
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, codec.ErrBadInput)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if err := codec.CheckEncoderFrame(good, 32, 36, "test"); !errors.Is(err, codec.ErrBadInput) {
		t.Errorf("wrong size: %v", err)
	}
}

func TestResolveEncoderParams(t *testing.T) {
	p, err := codec.ResolveEncoderParams(codec.VideoEncoderParams{Width: 640, Height: 360}, "test")
	if err != nil || p.FPS != codec.DefaultVideoFPS || p.BitrateBps != codec.DefaultVideoBitrate(640, 360, 30) {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	for _, bad := range []codec.VideoEncoderParams{
		{Width: 0, Height: 360}, {Width: 9000, Height: 360}, {Width: 640, Height: 360, FPS: -1},
		{Width: 640, Height: 360, FPS: 500}, {Width: 640, Height: 360, BitrateBps: -5},
	} {
		if _, err := codec.ResolveEncoderParams(bad, "test"); !errors.Is(err, codec.ErrBadInput) {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
}
