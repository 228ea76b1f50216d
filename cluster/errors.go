package cluster

import "errors"

var (
	// ErrBadConfig is a configuration the node cannot start with.
	ErrBadConfig = errors.New("bad cluster configuration")
	// ErrUnavailable means NATS cannot be reached: the directory and the
	// other nodes are out of sight until it is back (media goes on).
	ErrUnavailable = errors.New("cluster unreachable")
	// ErrNoRoom means the directory names no living home for the room.
	ErrNoRoom = errors.New("no such room in the cluster")
	// ErrHomedElsewhere means another living node hosts the room.
	ErrHomedElsewhere = errors.New("room is hosted on another node")
	// ErrNoCapacity means no node takes new rooms (all stressed past
	// RoomStressLimit, or draining).
	ErrNoCapacity = errors.New("no node can take a new room")
	// ErrOverloaded means the room's node takes no new participants
	// (stressed past JoinStressLimit).
	ErrOverloaded = errors.New("node takes no new participants")
	// ErrUnknownNode is a node that is not (or no longer) in the registry.
	ErrUnknownNode = errors.New("unknown node")
	// ErrClosed is a node that was closed.
	ErrClosed = errors.New("cluster node closed")
)
