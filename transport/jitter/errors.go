package jitter

import "errors"

// ErrInvalidConfig is returned (wrapped with the offending field) by New when
// a Config field is out of range.
var ErrInvalidConfig = errors.New("jitter: invalid config")
