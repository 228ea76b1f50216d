package codec

import "errors"

var (
	// ErrClosed is returned by any use of a codec after Close.
	ErrClosed = errors.New("codec: closed")
	// ErrUnknownCodec is returned by the registry for a MIME type nobody
	// registered.
	ErrUnknownCodec = errors.New("codec: unknown codec")
	// ErrBadInput is wrapped by decoders for payloads they cannot parse and
	// by encoders for frames of the wrong size.
	ErrBadInput = errors.New("codec: bad input")
	// ErrDuplicate is returned when a MIME type is registered twice.
	ErrDuplicate = errors.New("codec: codec registered twice")
	// ErrNeedKeyFrame is wrapped by video decoders that cannot decode a
	// frame because they lack its reference: the sender must be asked for
	// a keyframe.
	ErrNeedKeyFrame = errors.New("codec: decoder needs a keyframe")
)
