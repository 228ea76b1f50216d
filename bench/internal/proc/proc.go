// Package proc measures processes for the benchmark runners (the harness,
// the load generator and the reference runners), so every figure they put
// side by side is taken the same way: CPU time from /proc or getrusage, and
// a free loopback port to start a server on, and a wait for a measured
// slice that a cancelled run cuts short.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// CPUSeconds returns the user+system CPU time of pid, all its threads,
// from /proc/pid/stat (0 for pid 0).
func CPUSeconds(pid int) (float64, error) {
	if pid == 0 {
		return 0, nil
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is parenthesised and may hold spaces: count fields
	// after its closing parenthesis, where utime and stime (the 14th and
	// 15th fields overall) are the 12th and 13th.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := bytes.Fields(raw[i+1:])
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	utime, err1 := strconv.ParseFloat(string(f[11]), 64)
	stime, err2 := strconv.ParseFloat(string(f[12]), 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat fields")
	}
	const userHZ = 100 // clock ticks per second on Linux
	return (utime + stime) / userHZ, nil
}

// FreeTCPPort asks the kernel for a free loopback TCP port.
func FreeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Sleep waits d, or until ctx ends (returning its error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RSS returns pid's resident set size and its peak (VmRSS and VmHWM from
// /proc/pid/status), in bytes.
func RSS(pid int) (now, peak int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range bytes.Lines(raw) {
		name, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst = &now
		case "VmHWM":
			dst = &peak
		default:
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, name, err)
		}
		*dst = kb << 10
	}
	if now == 0 || peak == 0 {
		return 0, 0, errors.New("no VmRSS/VmHWM in /proc status")
	}
	return now, peak, nil
}

// MCUArgs are the flags every benchmark gives the mcu it starts: the HTTP
// API and the admin listener (metrics) on the loopback addresses given, no
// gRPC, loopback ICE, quiet logs, and none of the front door's limits,
// which a load generator's hundreds of joins from one address would hit,
// nor admission by CPU and tick lateness, which a capacity search pushes
// past on purpose.
func MCUArgs(httpAddr, adminAddr string) []string {
	return []string{"-http", httpAddr, "-admin-http", adminAddr, "-grpc", "", "-interfaces", "lo", "-include-loopback", "true",
		"-log-level", "error", "-join-rate", "0", "-max-rooms", "0", "-max-server-participants", "0", "-drain-timeout", "0",
		"-cpu-target", "0", "-tick-target", "0"}
}
