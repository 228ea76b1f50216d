package pionclient

import "errors"

// ErrBadVideoOptions is returned by Join for VideoOptions that cannot be
// honoured together (wrapped with the reason).
var ErrBadVideoOptions = errors.New("pionclient: bad video options")
