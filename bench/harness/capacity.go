package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mcu-project/mcu/bench/load"
)

// capacity is a search for the most load one mcu holds: the largest room,
// or the most rooms of a size.
type capacity struct {
	name  string
	base  scenario // what one probe runs, but for the size searched
	rooms bool     // grow the number of rooms of base.n, not base.n
	start int      // the first size tried
	limit int      // sizes above are not tried (0: none)
}

func capacities(quick bool) []capacity {
	if quick {
		return []capacity{{name: "2-person rooms, 1 talking, plain RTP (quick)", base: scenario{n: 2, talkers: 1, rtp: true}, rooms: true, start: 1, limit: 2}}
	}
	return []capacity{
		{name: "audio: largest room, 3 talking, plain RTP", base: scenario{talkers: 3, rtp: true}, start: 100},
		{name: "audio: most 5-person rooms, 3 talking each, plain RTP", base: scenario{n: 5, talkers: 3, rtp: true}, rooms: true, start: 16},
		{name: "video: most 4-person rooms, 640x360@30 cameras, shared 1280x720 canvas", base: scenario{n: 4, talkers: 1, video: "640x360", canvas: "1280x720@30", cheapVideo: true}, rooms: true, start: 1},
	}
}

// probe is one size tried: what it measured and whether it held.
type probe struct {
	size int
	res  load.Result
	err  error
}

// held: the mix ticks kept time (p99 lateness under 5 ms, i.e. under 1 % of
// them over room.LateTickThreshold, which the mcu counts exactly) and every
// output came at its rate.
func (p probe) held(s scenario) bool {
	return p.err == nil && p.res.Ticks > 0 && p.res.LateTickShare < 0.01 && outputsAtRate(s, p.res)
}

// why says what a probe measured, against what holding needs.
func (p probe) why(s scenario) string {
	if p.err != nil {
		return p.err.Error()
	}
	r := p.res
	w := fmt.Sprintf("CPU %.2f, ticks over 5 ms late %.2f %% (p99 %.1f ms)", r.CPUSeconds/r.Duration.Seconds(), 100*r.LateTickShare, r.TickLateP99Ms)
	if r.AudioRated > 0 {
		w += fmt.Sprintf(", audio ≥ %.1f packets/s", r.AudioPPSMin)
	}
	if s.video != "" {
		w += fmt.Sprintf(", video ≥ %.1f fps", r.VideoFPSMin)
	}
	return w + fmt.Sprintf(", RSS %.0f MiB", float64(r.RSSBytes)/(1<<20))
}

// capacityResult is where a search ended: the largest size that held and
// the smallest that did not (nil when none was found within the bounds).
type capacityResult struct {
	c          capacity
	held, fail *probe
}

// search doubles (or halves) the size from c.start until one probe holds
// and another does not, then bisects between them to within 1/16.
func search(ctx context.Context, w io.Writer, bin string, c capacity, d time.Duration) (capacityResult, error) {
	res := capacityResult{c: c}
	run := func(size int) (probe, error) {
		s := c.base
		if c.rooms {
			s.rooms = size
		} else {
			s.n = size
		}
		s.name = c.name
		fmt.Fprintf(w, "[capacity: %s] size %d ...\n", c.name, size)
		r, err := runMCU(ctx, bin, s, d, nil)
		if ctx.Err() != nil {
			return probe{}, ctx.Err()
		}
		p := probe{size: size, res: r, err: err}
		verdict := "held"
		if !p.held(s) {
			verdict = "not held"
		}
		fmt.Fprintf(w, "[capacity: %s] size %d %s: %s\n", c.name, size, verdict, p.why(s))
		return p, nil
	}
	note := func(p probe) {
		if p.held(c.base) {
			if res.held == nil || p.size > res.held.size {
				res.held = &p
			}
		} else if res.fail == nil || p.size < res.fail.size {
			res.fail = &p
		}
	}
	for size := c.start; size >= 1 && (c.limit == 0 || size <= c.limit); {
		p, err := run(size)
		if err != nil {
			return res, err
		}
		note(p)
		switch {
		case res.held != nil && res.fail != nil:
			size = 0 // bracketed
		case res.held != nil:
			size *= 2
			if c.limit > 0 {
				size = min(size, c.limit)
			}
			if size == res.held.size {
				size = 0 // held at the limit
			}
		default:
			size /= 2
		}
	}
	for res.held != nil && res.fail != nil && res.fail.size-res.held.size > max(1, res.held.size/16) {
		p, err := run((res.held.size + res.fail.size) / 2)
		if err != nil {
			return res, err
		}
		note(p)
	}
	return res, nil
}

// capacitySection is the report's table of the searches.
func capacitySection(results []capacityResult, d time.Duration) string {
	if len(results) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Capacity\n\nEach size tried is a fresh mcu loaded for one %v slice from this separate process (on the same 2 cores: the load generator's own CPU counts against the mcu's room). A size holds when fewer than 1 %% of the audio mix ticks start over 5 ms late (tick lateness p99 < 5 ms), every participant hearing talk gets at least 49 of its 50 packets/s, and every video output at least 29.5 frames/s. Sizes double from the first tried until one fails, then halve the gap down to 1/16.\n\n", d)
	b.WriteString("| search | held | not held | at the size held | at the size not held |\n|---|---|---|---|---|\n")
	for _, r := range results {
		heldSize, heldWhy, failSize, failWhy := "none tried", "–", "none tried", "–"
		if r.held != nil {
			heldSize, heldWhy = fmt.Sprint(r.held.size), r.held.why(r.c.base)
		}
		if r.fail != nil {
			failSize, failWhy = fmt.Sprint(r.fail.size), r.fail.why(r.c.base)
		} else if r.c.limit > 0 {
			failSize = fmt.Sprintf("– (tried up to %d)", r.c.limit)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.c.name, heldSize, failSize, heldWhy, failWhy)
	}
	return b.String()
}
