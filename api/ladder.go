package api

import (
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/ladder"
)

// LadderToProto converts rungs to their mcu.v1 form.
func LadderToProto(rungs []ladder.Rung) []*mcuv1.Rung {
	var out []*mcuv1.Rung
	for _, r := range rungs {
		out = append(out, &mcuv1.Rung{Width: uint32(r.Width), Height: uint32(r.Height), Fps: uint32(r.FPS), BitrateBps: uint32(r.BitrateBps)})
	}
	return out
}

// LadderFromProto converts mcu.v1 rungs.
func LadderFromProto(rungs []*mcuv1.Rung) []ladder.Rung {
	var out []ladder.Rung
	for _, r := range rungs {
		out = append(out, ladder.Rung{Width: int(r.GetWidth()), Height: int(r.GetHeight()), FPS: int(r.GetFps()), BitrateBps: int(r.GetBitrateBps())})
	}
	return out
}
