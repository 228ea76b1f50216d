package main

import (
	"fmt"
	"strings"

	"github.com/mcu-project/mcu/bench/load"
)

// targetsSection states, for each of the targets, what this run
// measured against it and by how much it is met or missed.
func targetsSection(rows []row) string {
	var b strings.Builder
	b.WriteString("\n## Targets\n\n")
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	var lines []string
	for _, r := range rows {
		s := r.s
		mc, fl, jn := load.Median(r.mcu.cpuPerSecond), load.Median(r.floor.cpuPerSecond), load.Median(r.jan.cpuPerSecond)
		switch {
		case s.video == "" && s.talkers < 0 && !s.latency && fl > 0:
			line := fmt.Sprintf("- Audio, everyone talking, ≤ 1.10× the codec floor and below Janus — %s: %.2f× the floor (%s)", s.name, mc/fl, check(mc/fl <= 1.10))
			met := mc/fl <= 1.10
			if jn > 0 {
				line += fmt.Sprintf(", %.2f× Janus (%s)", mc/jn, check(mc < jn))
				met = met && mc < jn
			}
			lines = append(lines, line+missNote(met, r))
		case s.video == "" && s.n == 50 && s.talkers == 3 && jn > 0 && mc > 0:
			lines = append(lines, fmt.Sprintf("- Audio, 3 talking in 50, ≥ 5× fewer CPU-seconds than Janus — %s: %.1f× fewer (%s)", s.name, jn/mc, check(jn/mc >= 5))+missNote(jn/mc >= 5, r))
		case s.gstMode == "shared" && fl > 0:
			line := fmt.Sprintf("- Video, 4-person shared layout, ≤ 1.10× the codec floor and ≤ 0.85× GStreamer — %s: %.2f× the floor (%s)", s.name, mc/fl, check(mc/fl <= 1.10))
			met := mc/fl <= 1.10
			if gs := load.Median(r.gs.cpuPerSecond); gs > 0 {
				line += fmt.Sprintf(", %.2f× GStreamer (%s)", mc/gs, check(mc/gs <= 0.85))
				met = met && mc/gs <= 0.85
			}
			lines = append(lines, line+missNote(met, r))
		}
		if s.latency && len(r.mcu.latencyMs) > 0 {
			p50 := load.Median(r.mcu.latencyMs)
			lines = append(lines, fmt.Sprintf("- Added audio latency on loopback, median ≤ 25 ms — %s: %.1f ms over %d onsets (%s)", s.name, p50, len(r.mcu.latencyMs), check(p50 <= 25)))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	b.WriteString("A missed target says what the scenario's CPU profile shows (\"Where the mcu's CPU goes\" below has the whole split).\n\n")
	b.WriteString(strings.Join(lines, "\n") + "\n")
	return b.String()
}

// missNote is what the profile shows about a missed target; nothing for a
// met one.
func missNote(met bool, r row) string {
	if met {
		return ""
	}
	return profileNote(r)
}
