package codec

import (
	"fmt"
	"strings"
	"sync"
)

// AudioCodec describes one audio codec as negotiated over RTP.
type AudioCodec struct {
	// MimeType as in SDP/pion, e.g. "audio/opus"; matched case-insensitively.
	MimeType string
	// ClockRate is the RTP clock rate (48000 for Opus, 8000 for G.711).
	ClockRate int
	// NewDecoder and NewEncoder build fresh codec instances.
	NewDecoder func() (AudioDecoder, error)
	NewEncoder func(EncoderParams) (AudioEncoder, error)
}

// EncoderParams are the settings an audio encoder starts with.
type EncoderParams struct {
	BitrateBps int  // 0 = codec default
	FEC        bool // in-band forward error correction where supported
	// Complexity trades CPU for quality where the codec has such a knob
	// (Opus: 1..10); 0 = codec default.
	Complexity int
	// DTX (discontinuous transmission, where supported): during silence
	// most frames encode to nothing to send, and a comfort-noise frame now
	// and then keeps the receiver's background alive.
	DTX bool
}

// Registry maps MIME types to codecs. The zero value is empty and ready.
// It is safe for concurrent use; registration normally happens at start-up.
type Registry struct {
	mu    sync.RWMutex
	audio map[string]AudioCodec
	video map[string]VideoCodec
}

// RegisterAudio adds c; registering a MIME type twice is an error.
func (r *Registry) RegisterAudio(c AudioCodec) error {
	key := strings.ToLower(c.MimeType)
	if key == "" || c.NewDecoder == nil || c.NewEncoder == nil || c.ClockRate <= 0 {
		return fmt.Errorf("%w: incomplete audio codec %q", ErrBadInput, c.MimeType)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.audio == nil {
		r.audio = make(map[string]AudioCodec)
	}
	if _, ok := r.audio[key]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicate, c.MimeType)
	}
	r.audio[key] = c
	return nil
}

// Audio returns the codec registered for mimeType.
func (r *Registry) Audio(mimeType string) (AudioCodec, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.audio[strings.ToLower(mimeType)]
	if !ok {
		return AudioCodec{}, fmt.Errorf("%w: %s", ErrUnknownCodec, mimeType)
	}
	return c, nil
}

// RegisterVideo adds c; registering a MIME type twice is an error.
func (r *Registry) RegisterVideo(c VideoCodec) error {
	key := strings.ToLower(c.MimeType)
	if key == "" || c.NewDecoder == nil || c.NewEncoder == nil || c.ClockRate <= 0 {
		return fmt.Errorf("%w: incomplete video codec %q", ErrBadInput, c.MimeType)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.video == nil {
		r.video = make(map[string]VideoCodec)
	}
	if _, ok := r.video[key]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicate, c.MimeType)
	}
	r.video[key] = c
	return nil
}

// Video returns the codec registered for mimeType.
func (r *Registry) Video(mimeType string) (VideoCodec, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.video[strings.ToLower(mimeType)]
	if !ok {
		return VideoCodec{}, fmt.Errorf("%w: %s", ErrUnknownCodec, mimeType)
	}
	return c, nil
}
