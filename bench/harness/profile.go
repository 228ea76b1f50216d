package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mcu-project/mcu/bench/load"
)

// part is one kind of work the mcu's CPU is split into. A sample belongs
// to the first part whose match takes its stack, so a codec call made
// from the room tick counts as codec work, a socket write from pion as the
// packet path, and only stacks that never leave the runtime (and the
// kernel under it) count as the runtime's.
type part struct {
	name  string
	match func(stack []frame) bool
}

// frame is one entry of a sampled stack: its symbol and the file (the
// mcu, a shared library, the kernel) it is in.
type frame struct{ sym, dso string }

// in matches stacks with a frame whose file or (Go) symbol starts with any
// of prefixes; a file matches by its base name.
func in(prefixes ...string) func([]frame) bool {
	return func(stack []frame) bool {
		for _, f := range stack {
			base := filepath.Base(f.dso)
			for _, p := range prefixes {
				if strings.HasPrefix(f.sym, p) || strings.HasPrefix(base, p) {
					return true
				}
			}
		}
		return false
	}
}

const mcuPkg = "github.com/mcu-project/mcu/"

// parts are the split, in the order a stack is matched.
var parts = []part{
	{"audio codecs", in("libopus", mcuPkg+"codec/opus.", mcuPkg+"codec/g711.", "gopkg.in/hraban/opus")},
	{"video codecs", in("libvpx", "libx264", "libavcodec", mcuPkg+"codec/vpx.", mcuPkg+"codec/h264.")},
	{"compositing", in("libyuv", mcuPkg+"compositor.")},
	{"mixing", in(mcuPkg + "mixer.")},
	// Receiving and sending packets: pion's ICE, DTLS, SRTP and
	// interceptors, our transport (jitter buffers included) and the
	// sockets under both.
	{"packet path", in("github.com/pion/", mcuPkg+"transport.", "net.", "internal/poll.", "syscall.")},
	// The scheduler finding, waking and parking goroutines (with the
	// kernel's futex and context switches under it), the garbage
	// collector, timers.
	{"Go runtime", onlyRuntime},
	// Interrupts and softirq work with no user stack.
	{"kernel alone", onlyKernel},
}

// restPart is the index of what no part matched (room logic, HTTP,
// metrics, libc).
var restPart = len(parts)

func isKernel(f frame) bool { return f.dso == "[kernel.kallsyms]" || f.sym == "[unknown]" }

// onlyRuntime: the stack's user frames, at least one, are all the Go
// runtime's.
func onlyRuntime(stack []frame) bool {
	user := false
	for _, f := range stack {
		if isKernel(f) {
			continue
		}
		if !strings.HasPrefix(f.sym, "runtime.") && !strings.HasPrefix(f.sym, "internal/runtime/") {
			return false
		}
		user = true
	}
	return user
}

// onlyKernel: the stack has no user frame.
func onlyKernel(stack []frame) bool {
	for _, f := range stack {
		if !isKernel(f) {
			return false
		}
	}
	return true
}

// classify returns the index in parts (or restPart) of a stack, leaf
// first.
func classify(stack []frame) int {
	for i, p := range parts {
		if p.match(stack) {
			return i
		}
	}
	return restPart
}

// cpuSplit is the CPU-seconds per second that went into each of parts,
// then the rest, then the share of it that ran in the kernel.
type cpuSplit struct {
	parts  []float64 // len(parts)+1: the rest last
	kernel float64
}

// splitPerfScript splits `perf script -F period,ip,sym,dso` output (a
// line with a sample's period in ns, then its stack, leaf first, a frame a
// line as tab, addr, sym, (dso); blank lines between samples) over a
// recording of seconds.
func splitPerfScript(script string, seconds float64) (cpuSplit, error) {
	split := cpuSplit{parts: make([]float64, len(parts)+1)}
	var total, period float64
	var stack []frame
	flush := func() {
		if period > 0 && len(stack) > 0 {
			split.parts[classify(stack)] += period
			if stack[0].dso == "[kernel.kallsyms]" {
				split.kernel += period
			}
			total += period
		}
		period, stack = 0, stack[:0]
	}
	sc := bufio.NewScanner(strings.NewReader(script))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			flush()
			if f := strings.Fields(line); len(f) > 0 {
				v, err := strconv.ParseFloat(f[len(f)-1], 64)
				if err == nil {
					period = v / 1e9
				}
			}
			continue
		}
		// addr sym (dso); symbols may hold spaces, the dso is last.
		l := strings.TrimSpace(line)
		open := strings.LastIndex(l, " (")
		_, sym, _ := strings.Cut(l[:max(open, 0)], " ")
		if open < 0 || !strings.HasSuffix(l, ")") {
			continue
		}
		sym, _, _ = strings.Cut(sym, "+0x") // perf adds offsets with -F +symoff
		stack = append(stack, frame{sym: sym, dso: l[open+2 : len(l)-1]})
	}
	flush()
	if err := sc.Err(); err != nil {
		return cpuSplit{}, err
	}
	if total == 0 || seconds <= 0 {
		return cpuSplit{}, fmt.Errorf("perf recorded no samples")
	}
	for i := range split.parts {
		split.parts[i] /= seconds
	}
	split.kernel /= seconds
	return split, nil
}

// codecs is the CPU in audio and video codec calls.
func (c cpuSplit) codecs() float64 { return c.parts[0] + c.parts[1] }

// profiled is one scenario's profile slice: perf's split of the mcu's
// CPU, its top list, and whether the slice's outputs were at rate, so a
// profile of a slice that did not carry the load is seen as such.
type profiled struct {
	file   string // the top list
	split  *cpuSplit
	cpu    float64 // the slice's mcu CPU, from /proc
	atRate bool
}

// profileScenario runs one more slice of s with perf sampling the mcu's
// stacks over the measured window, and writes perf's top list into outDir.
// perf, not Go's profiler: in a 4-person room the Go profile saw a third
// less CPU than /proc counted, and half the codec calls the codec floor
// proves the room makes, where perf's samples add up to /proc's figure.
func profileScenario(ctx context.Context, bin string, s scenario, d time.Duration, outDir string) (profiled, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return profiled{}, errors.New("perf not found (Debian: linux-perf)")
	}
	tmp, err := os.MkdirTemp("", "mcu-perf-")
	if err != nil {
		return profiled{}, err
	}
	defer os.RemoveAll(tmp)
	data := filepath.Join(tmp, "perf.data")
	secs := max(d-time.Second, time.Second)
	res, err := runMCU(ctx, bin, s, d, func(pid int) error {
		out, err := exec.CommandContext(ctx, "perf", "record", "-q", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", data, "--", "sleep", fmt.Sprint(secs.Seconds())).CombinedOutput()
		if err != nil {
			return fmt.Errorf("perf record: %w: %s", err, out)
		}
		return nil
	})
	if err != nil {
		return profiled{}, err
	}
	p := profiled{cpu: res.CPUSeconds / res.Duration.Seconds(), atRate: outputsAtRate(s, res)}
	top, err := exec.CommandContext(ctx, "perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.5").Output()
	if err != nil {
		return p, fmt.Errorf("perf report: %w", err)
	}
	p.file = "profile-" + slug(s.name) + ".txt"
	if err := os.WriteFile(filepath.Join(outDir, p.file), top, 0o644); err != nil {
		return p, err
	}
	script, err := exec.CommandContext(ctx, "perf", "script", "-i", data, "-F", "period,ip,sym,dso").Output()
	if err != nil {
		return p, fmt.Errorf("perf script: %w", err)
	}
	split, err := splitPerfScript(string(script), secs.Seconds())
	if err != nil {
		return p, err
	}
	p.split = &split
	return p, nil
}

// profileSection is the report's account of where the mcu's CPU goes: each
// scenario's profile split into parts, in CPU-seconds per media-second,
// next to the mcu's CPU and the codec floor, with perf's top lists.
func profileSection(rows []row) string {
	var b strings.Builder
	for _, r := range rows {
		p := r.prof
		if p.split == nil {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\n## Where the mcu's CPU goes\n\nperf sampled the mcu's stacks in one extra slice per scenario. Each sample goes to the first of these that any frame of its stack matches: codec calls (in the codec libraries or our wrappers), compositing, mixing, the packet path (pion, our transport, sockets), the Go runtime (a stack only in the runtime and the kernel under it: the scheduler waking and parking goroutines, the garbage collector, timers), the kernel alone (interrupts and softirq, mostly loopback packets arriving); what is left is the rest. \"in the kernel\" is the share of all samples that were in the kernel, whatever called it. In CPU-seconds per media-second: \"profile slice\" is the mcu's CPU (from /proc) in that slice, which perf's samples add up to. The codec floor is the codec work alone, timed in-process.\n\n| scenario | mcu CPU | codec floor | profile slice |")
			for _, pt := range parts {
				b.WriteString(" " + pt.name + " |")
			}
			b.WriteString(" the rest | in the kernel | codec calls / floor | top list |\n|---|---|---|---|" + strings.Repeat("---|", len(parts)+4) + "\n")
		}
		mc, fl := load.Median(r.mcu.cpuPerSecond), load.Median(r.floor.cpuPerSecond)
		slice := fmt.Sprintf("%.3f", p.cpu)
		if !p.atRate {
			slice += " (outputs not at rate)"
		}
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %s |", r.s.name, mc, fl, slice)
		for _, v := range p.split.parts {
			fmt.Fprintf(&b, " %.3f |", v)
		}
		fmt.Fprintf(&b, " %.3f | %s | [top](%s) |\n", p.split.kernel, ratio(p.split.codecs(), fl), p.file)
	}
	return b.String()
}

// profileNote says, for a missed target, what the scenario's profile
// shows: the mcu's codec calls against the floor, every other part of at
// least a twentieth of the mcu's CPU, and the share in the kernel.
func profileNote(r row) string {
	p := r.prof
	if p.split == nil {
		return ""
	}
	var total float64
	for _, v := range p.split.parts {
		total += v
	}
	fl := load.Median(r.floor.cpuPerSecond)
	note := fmt.Sprintf("; the profile: codec calls %.3f of the %.3f CPU-s/s perf sampled", p.split.codecs(), total)
	if fl > 0 {
		note += fmt.Sprintf(" (%.2f× the floor)", p.split.codecs()/fl)
	}
	for i := 2; i < len(p.split.parts); i++ {
		if v := p.split.parts[i]; v >= 0.05*total {
			name := "the rest"
			if i < len(parts) {
				name = parts[i].name
			}
			note += fmt.Sprintf(", %s %.3f", name, v)
		}
	}
	note += fmt.Sprintf("; %.0f %% of it in the kernel", 100*p.split.kernel/total)
	if !p.atRate {
		note += " (that slice's outputs were not at rate)"
	}
	return note
}
