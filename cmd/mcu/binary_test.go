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
	"slices"
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

// binaryRun is the mcu binary running as a user starts it, on loopback.
type binaryRun struct {
	cmd        *exec.Cmd
	lines      chan string // its log, until it exits
	http, grpc string      // where it listens
}

// startBinary starts the built binary on loopback with args added and
// waits until it says where it listens; it is killed when the test ends.
func startBinary(t *testing.T, args ...string) *binaryRun {
	t.Helper()
	return startBinaryIn(t, nil, args...)
}

// startBinaryIn is startBinary run by wrapper (a command line the
// binary's path and arguments are appended to; nil: none).
func startBinaryIn(t *testing.T, wrapper []string, args ...string) *binaryRun {
	t.Helper()
	line := append(slices.Clone(wrapper), buildMCU(t), "-http", "127.0.0.1:0", "-grpc", "127.0.0.1:0", "-admin-http", "127.0.0.1:0", "-interfaces", "lo", "-include-loopback", "true")
	cmd := exec.Command(line[0], append(line[1:], args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	b := &binaryRun{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case b.lines <- sc.Text():
			default: // nobody reads the log now: the child never blocks on it
			}
		}
		close(b.lines)
	}()
	httpRE := regexp.MustCompile(`msg="mcu listening" http=(\S+)`)
	grpcRE := regexp.MustCompile(`msg="gRPC listening" grpc=(\S+)`)
	for b.http == "" {
		select {
		case l, ok := <-b.lines:
			if !ok {
				t.Fatal("mcu exited before listening")
			}
			if m := grpcRE.FindStringSubmatch(l); m != nil {
				b.grpc = m[1]
			}
			if m := httpRE.FindStringSubmatch(l); m != nil {
				b.http = m[1]
			}
		case <-time.After(10 * time.Second):
			t.Fatal("mcu did not report its address")
		}
	}
	return b
}

// wait lets the binary's log drain and returns how it exited, or fails
// the test if it runs on for more than within.
func (b *binaryRun) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	exited := make(chan error, 1)
	go func() {
		for range b.lines { // drain so the child never blocks on stderr
		}
		exited <- b.cmd.Wait()
	}()
	select {
	case err := <-exited:
		return err
	case <-time.After(within):
		t.Fatalf("mcu still running %v later", within)
		return nil
	}
}

// TestBinarySignalShutdown builds the real binary, starts it as a user
// would, joins a participant, and sends SIGTERM: the process must exit 0
// promptly, having closed the participant's connection.
func TestBinarySignalShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	b := startBinary(t)
	cmd, addr := b.cmd, b.http
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
	if err := b.wait(t, 10*time.Second); err != nil {
		t.Fatalf("mcu exited with %v after SIGTERM", err)
	}
	if err := c.WaitClosed(ctx); err != nil {
		t.Fatalf("participant's connection not closed by shutdown: %v", err)
	}
}
