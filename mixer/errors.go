package mixer

import "errors"

// Sentinel errors. Functions wrap them with %w and add the offending value,
// so callers test with errors.Is and humans read the detail.
var (
	// ErrInvalidOptions reports an Options field outside its documented range.
	ErrInvalidOptions = errors.New("mixer: invalid options")

	// ErrGainOutOfRange reports a gain that is NaN, infinite or outside
	// [MinGainDB, MaxGainDB].
	ErrGainOutOfRange = errors.New("mixer: gain out of range")
)
