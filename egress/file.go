package egress

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// recordPath is where a recording goes: the request's path inside dir,
// or one named after the room, the time and the egress. A path that
// would leave dir is refused.
func recordPath(dir string, req Request, id string) (string, error) {
	p := req.Path
	if p == "" {
		p = fmt.Sprintf("%s-%s-%s.%s", req.Room, time.Now().UTC().Format("20060102T150405Z"), strings.TrimPrefix(id, "EG_"), req.Format)
		p = strings.Map(func(r rune) rune {
			if r == '/' || r == '\\' || r < ' ' {
				return '_'
			}
			return r
		}, p)
	}
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%w: path %q must stay inside the record folder", ErrBadRequest, req.Path)
	}
	return filepath.Join(dir, p), nil
}

// createFile creates a new file at path (never overwriting one), with
// its folders.
func createFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnwritable, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnwritable, err)
	}
	return f, nil
}

// sink is a recording's file as its muxer sees it: the first failed
// write (disk full, a vanished folder) is kept and every later write is
// dropped as if done, so a muxer never stops halfway (and never blocks
// its feeder); the recorder reads the error and ends the egress.
type sink struct {
	f *os.File

	mu    sync.Mutex
	err   error
	bytes int64 // the file's size so far
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		n, err := s.f.Write(p)
		s.bytes += int64(n)
		s.err = err
	}
	return len(p), nil
}

func (s *sink) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		_, s.err = s.f.WriteAt(p, off)
	}
	return len(p), nil
}

// Close closes the file; its error is kept like a write's.
func (s *sink) Close() error {
	err := s.f.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	return nil
}

// state returns the first error and the bytes written.
func (s *sink) state() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, s.err
}
