package room

import (
	"fmt"

	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/mixer"
)

// Options are a room's settings.
type Options struct {
	// Width, Height and FPS are the canvas every participant receives.
	Width, Height, FPS int
	// VideoBitrate is the canvas encoders' target (0: codec default).
	VideoBitrate int
	// ExcludeSelf leaves each participant's own tile out of its canvas.
	ExcludeSelf bool
	// VideoCodecs are the video codecs the room allows (MIME types); each
	// participant gets the one its offer prefers among them.
	VideoCodecs []string
	// MaxParticipants caps the room (0: no cap).
	MaxParticipants int
	// MaxSpeakers caps how many inputs are mixed: the loudest N (0: all).
	MaxSpeakers int
	// AudioComplexity is the Opus encoders' complexity, 1..10: lower costs
	// less CPU per encode at some quality (0: libopus's default, 9).
	AudioComplexity int
	// KeepWhenEmpty keeps the room (and its clock) after the last
	// participant leaves; by default an empty room is deleted.
	KeepWhenEmpty bool
	// Mixer tunes the audio mixer.
	Mixer mixer.Options
	// NoLabels leaves the name labels and muted-microphone marks off the
	// tiles; NoHighlight the border around whoever talks.
	NoLabels, NoHighlight bool
	// AutoRecord asks the server to record the room from its creation;
	// the room itself does nothing with it (the server's egress does).
	AutoRecord bool
	// Ladder is the rungs every view is encoded at, top first: each
	// receiver gets the highest rung its link carries. Empty:
	// ladder.Default of the canvas; one rung turns adaptation off.
	Ladder []ladder.Rung
}

// ladder is the room's rungs: Ladder, or the default for the canvas.
func (o Options) ladder() []ladder.Rung {
	if len(o.Ladder) > 0 {
		return o.Ladder
	}
	return ladder.Default(o.Width, o.Height, o.FPS, o.VideoBitrate)
}

// DefaultOptions are the options of rooms created by a first join.
func DefaultOptions() Options {
	mo := mixer.DefaultOptions()
	// Gate silent inputs out of the mix: less summed background noise, and
	// listeners who contribute nothing share one encode of the full mix.
	mo.GateDB = -50
	return Options{Width: 1280, Height: 720, FPS: 30, VideoCodecs: []string{"video/VP8", "video/H264"}, Mixer: mo}
}

// Validate checks the options.
func (o Options) Validate() error {
	switch {
	case o.Width < 16 || o.Height < 16 || o.Width > 4096 || o.Height > 4096 || o.Width%2 != 0 || o.Height%2 != 0:
		return fmt.Errorf("%w: canvas %dx%d (even, 16 to 4096)", ErrBadOptions, o.Width, o.Height)
	case o.FPS < 1 || o.FPS > 60:
		return fmt.Errorf("%w: %d fps (1 to 60)", ErrBadOptions, o.FPS)
	case o.MaxParticipants < 0 || o.VideoBitrate < 0 || o.MaxSpeakers < 0:
		return fmt.Errorf("%w: negative limit", ErrBadOptions)
	case o.AudioComplexity < 0 || o.AudioComplexity > 10:
		return fmt.Errorf("%w: audio complexity %d (1 to 10, or 0 for the default)", ErrBadOptions, o.AudioComplexity)
	case len(o.VideoCodecs) == 0:
		return fmt.Errorf("%w: no video codec", ErrBadOptions)
	}
	if err := o.Mixer.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	if err := ladder.Validate(o.Ladder, o.Width, o.Height, o.FPS); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	return nil
}
