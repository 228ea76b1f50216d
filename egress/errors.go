package egress

import "errors"

var (
	// ErrBadRequest: the request asks for something impossible (an
	// unknown format, a path outside the record folder).
	ErrBadRequest = errors.New("egress: bad request")
	// ErrUnknown: no egress has that ID.
	ErrUnknown = errors.New("egress: unknown egress")
	// ErrExists: the file asked for is there already (never overwritten).
	ErrExists = errors.New("egress: file exists")
	// ErrClosed: the manager is shutting down.
	ErrClosed = errors.New("egress: shutting down")
	// ErrUnwritable: the output could not be created or written.
	ErrUnwritable = errors.New("egress: cannot write")
)
