package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// cpuSeconds is the user+system CPU time the process has used.
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command's closing parenthesis: utime and stime
	// are the 14th and 15th of the line.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// TestRecordCPU (make bench-record) runs two mcu processes side by side,
// each with a 4-person VP8 room (cameras, tones, everyone receiving the
// canvas), records one room's WebM, and reports both processes' CPU over
// the same 30 s and the file's size per minute.
func TestRecordCPU(t *testing.T) {
	if os.Getenv("MCU_BENCH_RECORD") == "" {
		t.Skip("a measurement: make bench-record")
	}
	dir := t.TempDir()
	var servers []*binaryRun
	for range 2 {
		servers = append(servers, startBinary(t, "-record-dir", dir, "-canvas", "640x360@30", "-join-rate", "0"))
	}
	for i, b := range servers {
		for j := range 4 {
			joinReady(t, pionclient.Options{BaseURL: "http://" + b.http, Room: "cpu", Name: fmt.Sprint(j), ToneHz: float64(300 + 100*j),
				Video: &pionclient.VideoOptions{Y: byte(40 + 50*j), U: 90, V: 200, Moving: true, Loop: 30, ID: i}, RecvVideo: true, CountVideoOnly: true})
		}
	}
	s := &testServer{GRPC: servers[1].grpc}
	eg, err := dial(t, s).StartEgress(context.Background(), &mcuv1.StartEgressRequest{RoomId: "cpu", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "webm", Path: "cpu.webm"}}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	const span = 30 * time.Second
	before := []float64{cpuSeconds(t, servers[0].cmd.Process.Pid), cpuSeconds(t, servers[1].cmd.Process.Pid)}
	st0, _ := os.Stat(eg.GetPath())
	time.Sleep(span)
	after := []float64{cpuSeconds(t, servers[0].cmd.Process.Pid), cpuSeconds(t, servers[1].cmd.Process.Pid)}
	st1, _ := os.Stat(eg.GetPath())
	plain, recorded := (after[0]-before[0])/span.Seconds(), (after[1]-before[1])/span.Seconds()
	t.Logf("CPU over the same %v: unrecorded room %.1f %% of a core, recorded %.1f %% (%+.1f %%); WebM %.2f MB per minute",
		span, 100*plain, 100*recorded, 100*(recorded/plain-1), float64(st1.Size()-st0.Size())/span.Minutes()/1e6)
}
