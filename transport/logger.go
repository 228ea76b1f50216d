package transport

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLoggers adapts pion's LoggerFactory to slog. Pion logs routine events
// one level higher than an operator wants (state changes at Info, pings
// before candidates arrive and reads on closing streams at Warn), so each
// level is demoted one step: our own logs carry the events that matter
// (joins, leaves, failed connections).
type pionLoggers struct{ log *slog.Logger }

func (f pionLoggers) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ l *slog.Logger }

func (p pionLogger) emit(level slog.Level, msg string) {
	p.l.Log(context.Background(), level, msg)
}

func (p pionLogger) Trace(msg string)                  {}
func (p pionLogger) Tracef(format string, args ...any) {}
func (p pionLogger) Debug(msg string)                  { p.emit(slog.LevelDebug-4, msg) }
func (p pionLogger) Debugf(format string, args ...any) {
	p.emit(slog.LevelDebug-4, fmt.Sprintf(format, args...))
}
func (p pionLogger) Info(msg string) { p.emit(slog.LevelDebug, msg) }
func (p pionLogger) Infof(format string, args ...any) {
	p.emit(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (p pionLogger) Warn(msg string) { p.emit(slog.LevelDebug, msg) }
func (p pionLogger) Warnf(format string, args ...any) {
	p.emit(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (p pionLogger) Error(msg string) { p.emit(slog.LevelWarn, msg) }
func (p pionLogger) Errorf(format string, args ...any) {
	p.emit(slog.LevelWarn, fmt.Sprintf(format, args...))
}
