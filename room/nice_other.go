//go:build !linux

package room

// lowerThreadPriority does nothing where thread priorities are not per
// thread: video and audio then share the cores as equals.
func lowerThreadPriority() {}
