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
// canvas). Twice 30 s, one room recorded (WebM), then the other: each
// process's CPU over the same span, recorded against unrecorded, so the
// machine's load and any difference between the processes cancel out.
// Then both rooms are recorded as WebM, fMP4 and Ogg for 30 s: the files'
// sizes per minute.
func TestRecordCPU(t *testing.T) {
	if os.Getenv("MCU_BENCH_RECORD") == "" {
		t.Skip("a measurement: make bench-record")
	}
	dir := t.TempDir()
	var servers []*binaryRun
	var apis []mcuv1.MCUClient
	for range 2 {
		b := startBinary(t, "-record-dir", dir, "-canvas", "640x360@30", "-join-rate", "0")
		servers = append(servers, b)
		apis = append(apis, dial(t, &testServer{GRPC: b.grpc}))
	}
	for i, b := range servers {
		for j := range 4 {
			joinReady(t, pionclient.Options{BaseURL: "http://" + b.http, Room: "cpu", Name: fmt.Sprint(j), ToneHz: float64(300 + 100*j),
				Video: &pionclient.VideoOptions{Y: byte(40 + 50*j), U: 90, V: 200, Moving: true, Loop: 30, ID: i}, RecvVideo: true, CountVideoOnly: true})
		}
	}
	start := func(i int, format, path string) *mcuv1.Egress {
		eg, err := apis[i].StartEgress(context.Background(), &mcuv1.StartEgressRequest{RoomId: "cpu", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: format, Path: path}}})
		if err != nil {
			t.Fatal(err)
		}
		return eg
	}
	stop := func(i int, eg *mcuv1.Egress) *mcuv1.Egress {
		e, err := apis[i].StopEgress(context.Background(), &mcuv1.StopEgressRequest{EgressId: eg.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	const span = 30 * time.Second
	var ratios []float64
	for rec := range 2 {
		eg := start(rec, "webm", fmt.Sprintf("cpu%d.webm", rec))
		time.Sleep(3 * time.Second)
		before := []float64{cpuSeconds(t, servers[0].cmd.Process.Pid), cpuSeconds(t, servers[1].cmd.Process.Pid)}
		time.Sleep(span)
		after := []float64{cpuSeconds(t, servers[0].cmd.Process.Pid), cpuSeconds(t, servers[1].cmd.Process.Pid)}
		stop(rec, eg)
		recorded, plain := (after[rec]-before[rec])/span.Seconds(), (after[1-rec]-before[1-rec])/span.Seconds()
		ratios = append(ratios, recorded/plain)
		t.Logf("round %d: process %d recorded %.1f %% of a core, process %d unrecorded %.1f %% (%+.1f %%)", rec+1, rec, 100*recorded, 1-rec, 100*plain, 100*(recorded/plain-1))
	}
	t.Logf("recorded vs unrecorded 4-person VP8 room, 640x360@30: %+.1f %% CPU (mean of the two rounds)", 100*((ratios[0]+ratios[1])/2-1))
	var egs []*mcuv1.Egress
	for i, f := range []string{"webm", "mp4", "ogg"} {
		egs = append(egs, start(i%2, f, "size."+f))
	}
	time.Sleep(span)
	for i, eg := range egs {
		e := stop(i%2, eg)
		t.Logf("%s: %.2f MB per minute", e.GetFile().GetFormat(), float64(e.GetBytes())/e.GetDuration().AsDuration().Minutes()/1e6)
	}
}
