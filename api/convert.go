package api

import (
	"strings"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
)

// optionsFromProto overlays the set fields of p on defaults.
func optionsFromProto(defaults room.Options, p *mcuv1.RoomOptions) (room.Options, error) {
	o := defaults
	o.KeepWhenEmpty = true // managed rooms stay unless asked otherwise
	if p == nil {
		return o, nil
	}
	if p.Width != 0 || p.Height != 0 {
		o.Width, o.Height = int(p.Width), int(p.Height)
	}
	if p.Fps != 0 {
		o.FPS = int(p.Fps)
	}
	switch {
	case len(p.Ladder) > 0:
		o.Ladder = LadderFromProto(p.Ladder)
	case o.Width != defaults.Width || o.Height != defaults.Height || o.FPS != defaults.FPS:
		// The server's ladder is for its canvas: another canvas gets its
		// own default, still a single rung if adaptation is off.
		o.Ladder = nil
		if len(defaults.Ladder) == 1 {
			o.Ladder = ladder.Default(o.Width, o.Height, o.FPS, o.VideoBitrate)[:1]
		}
	}
	if len(p.VideoCodecs) > 0 {
		o.VideoCodecs = nil
		for _, c := range p.VideoCodecs {
			switch strings.ToUpper(c) {
			case "VP8", "H264":
				o.VideoCodecs = append(o.VideoCodecs, "video/"+strings.ToUpper(c))
			default:
				return o, badArg("video codec %q: VP8 or H264", c)
			}
		}
	}
	o.ExcludeSelf, o.KeepWhenEmpty = p.ExcludeSelf, !p.DeleteWhenEmpty
	o.MaxParticipants, o.MaxSpeakers = int(p.MaxParticipants), int(p.MaxSpeakers)
	o.AudioComplexity = int(p.AudioComplexity)
	o.NoLabels, o.NoHighlight = p.NoLabels, p.NoHighlight
	o.AutoRecord = p.AutoRecord
	return o, o.Validate()
}

func roomToProto(i room.Info) *mcuv1.Room {
	o := i.Options
	var codecs []string
	for _, c := range o.VideoCodecs {
		codecs = append(codecs, strings.TrimPrefix(c, "video/"))
	}
	return &mcuv1.Room{
		Id: string(i.ID), Participants: uint32(i.Participants), Layout: layoutToProto(i.Layout), ActiveSpeaker: string(i.Speaker),
		Options: &mcuv1.RoomOptions{
			Width: uint32(o.Width), Height: uint32(o.Height), Fps: uint32(o.FPS), VideoCodecs: codecs,
			ExcludeSelf: o.ExcludeSelf, MaxParticipants: uint32(o.MaxParticipants), MaxSpeakers: uint32(o.MaxSpeakers), DeleteWhenEmpty: !o.KeepWhenEmpty,
			AudioComplexity: uint32(o.AudioComplexity), NoLabels: o.NoLabels, NoHighlight: o.NoHighlight,
			AutoRecord: o.AutoRecord,
			Ladder:     LadderToProto(effectiveLadder(o)),
		},
	}
}

// effectiveLadder is the ladder a room encodes at: its own, or the
// default of its canvas.
func effectiveLadder(o room.Options) []ladder.Rung {
	if len(o.Ladder) > 0 {
		return o.Ladder
	}
	return ladder.Default(o.Width, o.Height, o.FPS, o.VideoBitrate)
}

func participantToProto(p room.Participant) *mcuv1.Participant {
	out := &mcuv1.Participant{
		Id: string(p.ID), Identity: p.Identity, Name: p.Name, Kind: p.Kind, Listener: p.Listener, AudioCodec: p.AudioCodec, VideoCodec: p.VideoCodec,
		Talking: p.Talking, LevelDbov: p.Level, BitrateBps: p.BitrateBps,
		AudioMuted: p.Muted, VideoMuted: p.VideoMuted, GainDb: p.GainDB, Pinned: p.Pinned,
		Sharing: p.Sharing, PresentationShown: p.PresentationShown,
	}
	if v := p.Video; v != nil {
		out.Video = &mcuv1.VideoReception{
			Rung: int32(v.Rung), Target: int32(v.Target),
			Width: uint32(v.Size.Width), Height: uint32(v.Size.Height), Fps: uint32(v.Size.FPS), BitrateBps: uint32(v.Size.BitrateBps),
			EstimateBps: uint64(max(v.EstimateBps, 0)), EstimateSource: v.EstimateSource,
			Loss: v.Loss, RttMs: float64(v.RTT) / float64(time.Millisecond), Switches: v.Switches, Probing: v.Probing,
		}
	}
	return out
}

var layoutTypes = map[mcuv1.LayoutType]room.LayoutType{
	mcuv1.LayoutType_LAYOUT_TYPE_UNSPECIFIED:  room.LayoutUnknown,
	mcuv1.LayoutType_LAYOUT_TYPE_GRID:         room.LayoutGrid,
	mcuv1.LayoutType_LAYOUT_TYPE_SPEAKER:      room.LayoutSpeaker,
	mcuv1.LayoutType_LAYOUT_TYPE_PIP:          room.LayoutPIP,
	mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM:       room.LayoutCustom,
	mcuv1.LayoutType_LAYOUT_TYPE_PRESENTATION: room.LayoutPresentation,
}

func layoutFromProto(p *mcuv1.Layout) (room.Layout, error) {
	if p == nil {
		return room.Layout{}, badArg("no layout")
	}
	t, ok := layoutTypes[p.Type]
	if !ok {
		return room.Layout{}, badArg("unknown layout type %d", p.Type)
	}
	l := room.Layout{Type: t}
	for _, r := range p.Regions {
		reg := room.Region{X: r.X, Y: r.Y, W: r.W, H: r.H, Z: int(r.Z)}
		switch r.Fit {
		case mcuv1.Fit_FIT_UNSPECIFIED, mcuv1.Fit_FIT_CONTAIN:
			reg.Fit = room.FitContain
		case mcuv1.Fit_FIT_COVER:
			reg.Fit = room.FitCover
		default:
			return l, badArg("unknown fit %d", r.Fit)
		}
		switch src := r.Source.(type) {
		case *mcuv1.Region_ParticipantId:
			reg.Source, reg.Participant = room.SourceParticipant, media.ParticipantID(src.ParticipantId)
		case *mcuv1.Region_ActiveSpeaker:
			reg.Source = room.SourceSpeaker
		case *mcuv1.Region_Presentation:
			reg.Source = room.SourcePresentation
		}
		l.Regions = append(l.Regions, reg)
	}
	return l, nil
}

func layoutToProto(l room.Layout) *mcuv1.Layout {
	out := &mcuv1.Layout{}
	for pt, rt := range layoutTypes {
		if rt == l.Type {
			out.Type = pt
		}
	}
	for _, r := range l.Regions {
		reg := &mcuv1.Region{X: r.X, Y: r.Y, W: r.W, H: r.H, Z: int32(r.Z), Fit: mcuv1.Fit_FIT_CONTAIN}
		if r.Fit == room.FitCover {
			reg.Fit = mcuv1.Fit_FIT_COVER
		}
		switch r.Source {
		case room.SourceParticipant:
			reg.Source = &mcuv1.Region_ParticipantId{ParticipantId: string(r.Participant)}
		case room.SourceSpeaker:
			reg.Source = &mcuv1.Region_ActiveSpeaker{ActiveSpeaker: true}
		case room.SourcePresentation:
			reg.Source = &mcuv1.Region_Presentation{Presentation: true}
		default:
			reg.Source = &mcuv1.Region_NextFree{NextFree: true}
		}
		out.Regions = append(out.Regions, reg)
	}
	return out
}
