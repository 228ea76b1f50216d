package selfcpu

import (
	"testing"
	"time"
)

// Busy work shows up in Time, and Time never goes backwards.
func TestTimeCountsWork(t *testing.T) {
	t0 := Time()
	x := 0
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
		x++
	}
	t1 := Time()
	if t1-t0 < 20*time.Millisecond {
		t.Fatalf("50 ms of spinning (%d rounds) counted %v of CPU", x, t1-t0)
	}
}
