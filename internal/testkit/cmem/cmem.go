// Package cmem measures and trims the C heap (glibc's malloc) of a process
// whose cgo libraries (the codecs) allocate, for tests that check its
// memory: the C counterparts of runtime.ReadMemStats and
// debug.FreeOSMemory.
package cmem

/*
#include <malloc.h>
*/
import "C"

// Trim hands the free memory of every glibc malloc arena back to the OS
// (malloc_trim(0)). glibc keeps what the codecs free in its arenas,
// resident, until it is reused or trimmed, so without this the resident
// size of a process that has had many codecs open at once reads as their
// high-water mark rather than what is live.
func Trim() { C.malloc_trim(0) }

// InUse is how many bytes the C heap has handed out and not had back
// (mallinfo2: allocated arena chunks and mmapped blocks, every arena).
func InUse() int64 {
	m := C.mallinfo2()
	return int64(m.uordblks) + int64(m.hblkhd)
}
