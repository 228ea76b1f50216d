// Package opusgap fills the gaps in a stream of 20 ms Opus packets (the
// mix's silence, which the room sends as nothing) for containers that
// count samples instead of keeping timestamps, so a file keeps
// wall-clock time.
package opusgap

import "time"

// Frame is the room's Opus packet duration.
const Frame = 20 * time.Millisecond

// Filler tracks where the next packet belongs; its zero value expects
// the first packet anywhere.
type Filler struct {
	next    time.Duration
	started bool
	toc     byte
}

// Start makes the first packet belong at ts - lead, so that lead of
// filler comes before it.
func (f *Filler) Start(ts, lead time.Duration) {
	f.next, f.started = ts-lead, true
}

// Write hands emit the empty frames that stand for the time between the
// last packet and ts (each one Frame long, at its time), then b at ts.
func (f *Filler) Write(ts time.Duration, b []byte, emit func(ts time.Duration, b []byte) error) error {
	if len(b) == 0 {
		return nil
	}
	if !f.started {
		f.Start(ts, 0)
	}
	if f.toc == 0 {
		f.toc = b[0]
	}
	for ; ts-f.next >= Frame/2; f.next += Frame {
		// A packet of one frame of no bytes (its TOC byte, code 0): a
		// decoder plays it as the silence it stands for.
		if err := emit(f.next, []byte{f.toc &^ 3}); err != nil {
			return err
		}
	}
	f.toc = b[0]
	f.next = max(f.next, ts) + Frame
	return emit(ts, b)
}
