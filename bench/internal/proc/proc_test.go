package proc

import (
	"os"
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/selfcpu"
)

// TestCPUSeconds: /proc and getrusage agree on this process once it has
// burnt some CPU, and pid 0 reads as nothing.
func TestCPUSeconds(t *testing.T) {
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
	}
	fromProc, err := CPUSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self := selfcpu.Time().Seconds()
	if fromProc < 0.1 || fromProc > self+0.05 || self-fromProc > 0.05 {
		t.Fatalf("/proc says %.3f s, getrusage %.3f s", fromProc, self)
	}
	if v, err := CPUSeconds(0); v != 0 || err != nil {
		t.Fatalf("pid 0: %v %v", v, err)
	}
	if _, err := CPUSeconds(1 << 30); err == nil {
		t.Fatal("a pid that does not exist read without error")
	}
}

func TestFreeTCPPort(t *testing.T) {
	if p, err := FreeTCPPort(); err != nil || p <= 0 {
		t.Fatalf("%d %v", p, err)
	}
}

// TestRSS: this process's resident size grows by what it touches, and the
// peak is never below it.
func TestRSS(t *testing.T) {
	now0, _, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	now1, peak, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if now1-now0 < 48<<20 || peak < now1 {
		t.Fatalf("RSS %d → %d after touching 64 MiB, peak %d", now0, now1, peak)
	}
	_ = buf[len(buf)-1]
	if _, _, err := RSS(1 << 30); err == nil {
		t.Fatal("a pid that does not exist read without error")
	}
}
