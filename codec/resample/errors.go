package resample

import "errors"

// ErrUnsupportedRate is returned by New for a pair of rates it cannot
// convert between (not positive, above MaxRate, or not an integer ratio of at
// most MaxRatio).
var ErrUnsupportedRate = errors.New("resample: unsupported sample-rate pair")
