// Package cmem returns the C heap's free memory to the OS, for tests that
// measure a process whose cgo libraries (the codecs) allocate: the C
// counterpart of debug.FreeOSMemory.
package cmem

/*
#include <malloc.h>
*/
import "C"

// Trim hands the free memory of every glibc malloc arena back to the OS
// (malloc_trim(0)). glibc keeps what the codecs free in per-thread arenas,
// resident, until it is reused or trimmed, so without this the resident
// size of a process that has had many codecs open at once reads as their
// high-water mark rather than what is live.
func Trim() { C.malloc_trim(0) }
