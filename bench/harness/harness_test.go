package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: the
// quick run drives the load generator's clients and a profiler in this
// process.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestQuickRun: the harness's quick mode builds the mcu, runs a small
// scenario end to end against it and writes a report with the table.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mcu")
	}
	t.Chdir("../..") // the harness runs from the module root
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log bytes.Buffer
	if err := run(ctx, &log, true, out, 0, 0, "", "", "", false, true); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	report, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| scenario |", "audio N=2 (quick)", "yes", "latency-audio-n-2-quick.svg",
		// Whether the probes held depends on how busy the machine is:
		// the search must only have run and said so.
		"mix ticks over 5 ms late", "## Capacity", "| 2-person rooms, 1 talking, plain RTP (quick) |"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	// The participants' Opus frames were counted by mode: a share for the
	// mcu, none for the Janus that did not run.
	if !regexp.MustCompile(`(?m)^\| audio N=2 \(quick\) \|.*\| \d+ % / – \|$`).Match(report) {
		t.Errorf("no hybrid share for the quick row:\n%s", report)
	}
	if !strings.Contains(log.String(), "pair 1/1: mcu") {
		t.Errorf("no progress shown:\n%s", log.String())
	}
}

// TestLatencyPlot: the distribution plot has a curve per system measured.
func TestLatencyPlot(t *testing.T) {
	svg := latencyPlot([]float64{21, 18, 19.5}, []float64{150, 160})
	for _, want := range []string{"<svg", "mcu", "Janus AudioBridge", "onset latency (ms)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("plot lacks %q", want)
		}
	}
	if strings.Contains(latencyPlot([]float64{20}, nil), "Janus") {
		t.Error("Janus drawn without measurements")
	}
}

// TestTargetsGiveOpusModes: a comparison with Janus says how many of each
// server's Opus frames were hybrid, since that share moves the ratio.
func TestTargetsGiveOpusModes(t *testing.T) {
	r := row{s: scenario{name: "audio N=8, all talking, plain RTP", n: 8, talkers: -1, janus: true, rtp: true}}
	r.mcu.cpuPerSecond, r.floor.cpuPerSecond, r.jan.cpuPerSecond = []float64{0.158}, []float64{0.139}, []float64{0.099}
	r.mcu.addModes([3]int64{0, 80, 20})
	r.jan.addModes([3]int64{0, 12, 88})
	got := targetsSection([]row{r})
	if want := "1.60× Janus (**missed**) with 80 % of the mcu's Opus frames hybrid and 12 % of Janus's"; !strings.Contains(got, want) {
		t.Fatalf("targets lack %q:\n%s", want, got)
	}
}

// TestRefError: a failed reference run is reported by its own message,
// not by the log lines after it or go run's exit status.
func TestRefError(t *testing.T) {
	stderr := "janusref: participant 15: the mix from janus carries talker 8's 496 Hz tone at amplitude 15\njanus log tail:\nJanus version: 1102\nexit status 1\n"
	if got, want := refError("./bench/janusref", stderr), "participant 15: the mix from janus carries talker 8's 496 Hz tone at amplitude 15"; got != want {
		t.Errorf("refError = %q, want %q", got, want)
	}
	if got := refError("./bench/gstref", "something else\nexit status 2\n"); got != "exit status 2" {
		t.Errorf("without the runner's own message: %q, want the last line", got)
	}
}
