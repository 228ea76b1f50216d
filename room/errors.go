package room

import "errors"

var (
	// ErrUnknownRoom: no room with that ID exists.
	ErrUnknownRoom = errors.New("room: unknown room")
	// ErrUnknownParticipant: the room has no participant with that ID.
	ErrUnknownParticipant = errors.New("room: unknown participant")
	// ErrServerFull: the server is at its limit of rooms or participants.
	ErrServerFull = errors.New("room: server is full")
	// ErrRoomFull: the room is at its participant limit.
	ErrRoomFull = errors.New("room: room is full")
	// ErrClosed: the manager has shut down.
	ErrClosed = errors.New("room: shutting down")
	// ErrRoomExists: CreateRoom for an ID in use.
	ErrRoomExists = errors.New("room: room exists")
	// ErrBadOptions: options or join parameters failed validation.
	ErrBadOptions = errors.New("room: bad options")
)
