package netshape

import "errors"

// ErrUnavailable means this machine cannot build a shaped link for this
// process: it is not root, iproute2's ip or tc is missing, or the kernel
// (or a container) refuses a new network namespace. Tests skip on it.
var ErrUnavailable = errors.New("netshape: no shaped link here")
