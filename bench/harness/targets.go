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
			line := fmt.Sprintf("- Audio, everyone talking, ≤ 1.2× the codec floor and ≤ 0.9× Janus (%s participants) — %s: %.2f× the floor (%s)", janusKind(s), s.name, mc/fl, check(mc/fl <= 1.2))
			met := mc/fl <= 1.2
			if jn > 0 {
				line += fmt.Sprintf(", %.2f× Janus (%s)%s", mc/jn, check(mc/jn <= 0.9), hybridNote(r))
				met = met && mc/jn <= 0.9
			}
			lines = append(lines, line+missNote(met, r))
		case s.video == "" && s.n == 50 && s.talkers == 3 && jn > 0 && mc > 0:
			lines = append(lines, fmt.Sprintf("- Audio, 3 talking in 50, ≥ 5× fewer CPU-seconds than Janus (%s participants) — %s: %.1f× fewer (%s)%s", janusKind(s), s.name, jn/mc, check(jn/mc >= 5), hybridNote(r))+missNote(jn/mc >= 5, r))
		case s.gstMode == "shared" && fl > 0:
			line := fmt.Sprintf("- Video, 4-person shared layout, ≤ 1.0× the codec floor and ≤ 0.6× GStreamer — %s: %.2f× the floor (%s)", s.name, mc/fl, check(mc/fl <= 1.0))
			met := mc/fl <= 1.0
			if gs := load.Median(r.gs.cpuPerSecond); gs > 0 {
				line += fmt.Sprintf(", %.2f× GStreamer (%s)", mc/gs, check(mc/gs <= 0.6))
				met = met && mc/gs <= 0.6
			}
			lines = append(lines, line+missNote(met, r))
		case s.exclude && len(r.mcu.fpsMin) > 0:
			fps, p99 := load.Median(r.mcu.fpsMin), load.Median(r.mcu.tickP99)
			met := fps >= 29.5 && p99 < 5
			lines = append(lines, fmt.Sprintf("- Video, personal layouts, ≥ 29.5 fps on every output with audio tick p99 < 5 ms — %s: %.1f fps at the slowest output (%s), tick p99 %.1f ms (%s)", s.name, fps, check(fps >= 29.5), p99, check(p99 < 5))+missNote(met, r))
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

// janusKind is the participants Janus has in a scenario's reference run:
// the same transport as the mcu's, except the latency rows (plain RTP:
// the WebRTC reference measures no latency).
func janusKind(s scenario) string {
	if s.janusWebRTC() {
		return "WebRTC"
	}
	return "plain-RTP"
}

// hybridNote gives, beside a comparison with Janus, the share of hybrid
// Opus frames each server's participants received: the two servers'
// encodes cost alike only where those shares are alike (report.md,
// "Round five").
func hybridNote(r row) string {
	return fmt.Sprintf(" with %s of the mcu's Opus frames hybrid and %s of Janus's", r.mcu.hybridCell(), r.jan.hybridCell())
}

// missNote is what the profile shows about a missed target; nothing for a
// met one.
func missNote(met bool, r row) string {
	if met {
		return ""
	}
	return profileNote(r)
}
