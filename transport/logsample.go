package transport

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// sampleEvery is the least time between two log lines of one cause on a
// per-packet or per-frame path.
const sampleEvery = time.Second

// sampledLog rate-limits the log lines of per-packet and per-frame paths,
// where a fault repeats at the packet rate: at most one line per cause per
// interval, and the line after a quiet spell says how many it stands for.
// It is engine-wide and keyed by the message, so a fault that hits every
// peer at once still writes one line a second; the map stays small because
// the messages are this package's constants.
type sampledLog struct {
	every time.Duration
	now   func() time.Time // time.Now, or a test's clock

	mu     sync.Mutex
	causes map[string]sampleState
}

type sampleState struct {
	last       time.Time // when a line of this cause was last written
	suppressed int       // lines refused since
}

func newSampledLog(every time.Duration, now func() time.Time) *sampledLog {
	return &sampledLog{every: every, now: now, causes: map[string]sampleState{}}
}

// allow reports whether a line for cause may be written now and, if so,
// how many lines of that cause were refused since the last one written.
func (s *sampledLog) allow(cause string) (ok bool, suppressed int) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st, seen := s.causes[cause]
	if seen && now.Sub(st.last) < s.every {
		st.suppressed++
		s.causes[cause] = st
		return false, 0
	}
	s.causes[cause] = sampleState{last: now}
	return true, st.suppressed
}

// log writes msg at level through l unless a line with the same msg was
// written less than the interval ago; the next line written carries the
// count of those refused as "suppressed". When l does not log level the
// call costs no lock.
func (s *sampledLog) log(l *slog.Logger, level slog.Level, msg string, args ...any) {
	ctx := context.Background()
	if !l.Enabled(ctx, level) {
		return
	}
	ok, n := s.allow(msg)
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.Log(ctx, level, msg, args...)
}
