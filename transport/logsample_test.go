package transport

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestSampledLogAllow: one line per cause per interval, causes apart, and
// the first line after refused ones carries their count.
func TestSampledLogAllow(t *testing.T) {
	type step struct {
		at         time.Duration // since the test clock's start
		cause      string
		ok         bool
		suppressed int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first line passes", []step{{0, "a", true, 0}}},
		{"repeats within the interval are refused and counted", []step{
			{0, "a", true, 0}, {10 * time.Millisecond, "a", false, 0}, {999 * time.Millisecond, "a", false, 0},
			{time.Second, "a", true, 2},
		}},
		{"the count starts again after a line", []step{
			{0, "a", true, 0}, {time.Millisecond, "a", false, 0}, {time.Second, "a", true, 1},
			{1500 * time.Millisecond, "a", false, 0}, {2 * time.Second, "a", true, 1}, {5 * time.Second, "a", true, 0},
		}},
		{"causes are sampled apart", []step{
			{0, "a", true, 0}, {time.Millisecond, "b", true, 0}, {2 * time.Millisecond, "a", false, 0},
			{3 * time.Millisecond, "b", false, 0}, {4 * time.Millisecond, "b", false, 0},
			{time.Second, "a", true, 1}, {time.Second + time.Millisecond, "b", true, 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Unix(1000, 0)
			now := start
			s := newSampledLog(time.Second, func() time.Time { return now })
			for i, st := range tt.steps {
				now = start.Add(st.at)
				ok, n := s.allow(st.cause)
				if ok != st.ok || n != st.suppressed {
					t.Errorf("step %d (%v, %q): allow = %v, %d; want %v, %d", i, st.at, st.cause, ok, n, st.ok, st.suppressed)
				}
			}
		})
	}
}

// TestSampledLogLines: the lines written carry the suppressed count, and a
// level the logger does not write is neither written nor counted.
func TestSampledLogLines(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	start := time.Unix(1000, 0)
	now := start
	s := newSampledLog(time.Second, func() time.Time { return now })
	for range 3 {
		s.log(l, slog.LevelWarn, "write failed", "err", "boom")
		s.log(l, slog.LevelDebug, "frame dropped") // below the logger's level
	}
	now = start.Add(time.Second)
	s.log(l, slog.LevelWarn, "write failed", "err", "boom")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	if strings.Contains(lines[0], "suppressed") || !strings.Contains(lines[0], "err=boom") {
		t.Errorf("first line %q", lines[0])
	}
	if !strings.Contains(lines[1], "suppressed=2") {
		t.Errorf("second line %q, want suppressed=2", lines[1])
	}
	if _, seen := s.causes["frame dropped"]; seen {
		t.Error("a line below the logger's level was counted")
	}
}
