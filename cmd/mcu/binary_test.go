package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// built is the mcu binary the package's tests build once (buildMCU), in
// a folder TestMain removes.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// buildMCU builds the mcu binary, once for all the tests that run it.
func buildMCU(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "mcu-bin-"); built.err != nil {
			return
		}
		if out, err := exec.Command("go", "build", "-o", filepath.Join(built.dir, "mcu"), ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, "mcu")
}

// TestBinarySignalShutdown builds the real binary, starts it as a user
// would, joins a participant, and sends SIGTERM: the process must exit 0
// promptly, having closed the participant's connection.
func TestBinarySignalShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMCU(t)
	cmd := exec.Command(bin, "-http", "127.0.0.1:0", "-grpc", "127.0.0.1:0", "-admin-http", "127.0.0.1:0", "-interfaces", "lo", "-include-loopback", "true")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	addrRE := regexp.MustCompile(`msg="mcu listening" http=(\S+)`)
	var addr string
	for addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("mcu exited before listening")
			}
			if m := addrRE.FindStringSubmatch(l); m != nil {
				addr = m[1]
			}
		case <-time.After(10 * time.Second):
			t.Fatal("mcu did not report its address")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := pionclient.Join(ctx, pionclient.Options{BaseURL: "http://" + addr, Room: "sig", Name: "a", ToneHz: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// The first SIGTERM drains: the room goes on (for up to the drain
	// timeout) and newcomers are refused; the second ends at once.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %s after SIGTERM", res.Status)
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancelShort()
	if err := c.WaitClosed(short); err == nil {
		t.Fatal("the participant's connection closed while draining")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		for range lines { // drain so the child never blocks on stderr
		}
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("mcu exited with %v after SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("mcu still running 10 s after SIGTERM")
	}
	if err := c.WaitClosed(ctx); err != nil {
		t.Fatalf("participant's connection not closed by shutdown: %v", err)
	}
}
