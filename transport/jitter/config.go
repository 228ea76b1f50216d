package jitter

import (
	"fmt"
	"time"
)

// Config parameterises a Buffer. Start from DefaultConfig.
type Config struct {
	// ClockRate is the RTP clock rate in Hz (48000 for Opus); 1000..1000000.
	ClockRate int
	// MinDelay and MaxDelay bound the adaptive target delay
	// (0 <= MinDelay <= MaxDelay, 0 < MaxDelay < ResyncTransit).
	MinDelay, MaxDelay time.Duration
	// MaxPackets bounds how many packets are buffered (and so memory:
	// MaxPackets payload buffers). It is also the sequence-number window: a
	// packet more than MaxPackets ahead of the playout point evicts the
	// oldest packets. 2..4096. Keep it well above MaxDelay divided by the
	// shortest packet duration (10 ms for 100 ms → at least ~16).
	MaxPackets int

	// ResyncPackets: a sequence-number jump (either way) larger than this
	// starts a new stream instead of reporting thousands of losses.
	// 0 means 1000; otherwise MaxPackets..30000.
	ResyncPackets int
	// ResyncTransit: a change of transit time (arrival time minus RTP
	// timestamp) larger than this — a timestamp jump without a matching
	// pause — also starts a new stream. 0 means 5 s; otherwise > MaxDelay.
	ResyncTransit time.Duration
	// ShrinkAfter: how long the head packet must have waited at least a
	// frame beyond its due time before buffered packets are dropped to cut
	// latency.
	// 0 means 1 s; negative is invalid.
	ShrinkAfter time.Duration
}

// Defaults used by DefaultConfig and for zero optional fields.
const (
	DefaultClockRate     = 48000
	DefaultMinDelay      = 20 * time.Millisecond
	DefaultMaxDelay      = 100 * time.Millisecond
	DefaultMaxPackets    = 64
	DefaultResyncPackets = 1000
	DefaultResyncTransit = 5 * time.Second
	DefaultShrinkAfter   = time.Second
)

// DefaultConfig returns the configuration for 48 kHz Opus: 20–100 ms target
// delay, 64 packets.
func DefaultConfig() Config {
	return Config{
		ClockRate:     DefaultClockRate,
		MinDelay:      DefaultMinDelay,
		MaxDelay:      DefaultMaxDelay,
		MaxPackets:    DefaultMaxPackets,
		ResyncPackets: DefaultResyncPackets,
		ResyncTransit: DefaultResyncTransit,
		ShrinkAfter:   DefaultShrinkAfter,
	}
}

// withDefaults fills the optional fields and validates everything.
func (c Config) withDefaults() (Config, error) {
	if c.ResyncPackets == 0 {
		c.ResyncPackets = DefaultResyncPackets
	}
	if c.ResyncTransit == 0 {
		c.ResyncTransit = DefaultResyncTransit
	}
	if c.ShrinkAfter == 0 {
		c.ShrinkAfter = DefaultShrinkAfter
	}
	switch {
	case c.ClockRate < 1000 || c.ClockRate > 1_000_000:
		return c, fmt.Errorf("%w: ClockRate %d not in 1000..1000000", ErrInvalidConfig, c.ClockRate)
	case c.MinDelay < 0:
		return c, fmt.Errorf("%w: MinDelay %v is negative", ErrInvalidConfig, c.MinDelay)
	case c.MaxDelay <= 0 || c.MaxDelay < c.MinDelay:
		return c, fmt.Errorf("%w: MaxDelay %v must be positive and >= MinDelay %v", ErrInvalidConfig, c.MaxDelay, c.MinDelay)
	case c.MaxPackets < 2 || c.MaxPackets > 4096:
		return c, fmt.Errorf("%w: MaxPackets %d not in 2..4096", ErrInvalidConfig, c.MaxPackets)
	case c.ResyncPackets < c.MaxPackets || c.ResyncPackets > 30000:
		return c, fmt.Errorf("%w: ResyncPackets %d not in MaxPackets(%d)..30000", ErrInvalidConfig, c.ResyncPackets, c.MaxPackets)
	case c.ResyncTransit <= c.MaxDelay:
		return c, fmt.Errorf("%w: ResyncTransit %v must exceed MaxDelay %v", ErrInvalidConfig, c.ResyncTransit, c.MaxDelay)
	case c.ShrinkAfter < 0:
		return c, fmt.Errorf("%w: ShrinkAfter %v is negative", ErrInvalidConfig, c.ShrinkAfter)
	}
	return c, nil
}
