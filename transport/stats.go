package transport

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Stats are an engine's counters since it started, summed over every peer
// and leg it made, closed ones included: what the packet paths drop or
// cannot use, which they otherwise only show as sampled log lines.
type Stats struct {
	// VideoInDropped counts incoming video frames not handed to the
	// room's decoder: its queue was full, or frames after a loss waited
	// for a keyframe.
	VideoInDropped uint64
	// VideoOutDropped counts encoded frames not sent to a receiver: its
	// queue was full, or frames after such a drop waited for a keyframe.
	VideoOutDropped uint64
	// BadRTP counts incoming media packets that did not parse as RTP
	// (WebRTC audio tracks, plain-RTP legs).
	BadRTP uint64
	// PacerDropped counts encoded frames a receiver's pacer dropped
	// because they would have waited longer than maxPaceDelay (and the
	// frames after them up to a keyframe).
	PacerDropped uint64
	// PacedPackets counts video packets sent through the pacers, and
	// PaceDelay their total time queued there: the mean queue delay is
	// their ratio.
	PacedPackets uint64
	PaceDelay    time.Duration
	// PaddingBytes counts probe padding actually sent on video streams.
	PaddingBytes uint64
	// ConnectTimeouts counts participants dropped because ICE or DTLS did
	// not connect in time.
	ConnectTimeouts uint64
	// Panics counts participants whose transport broke: a goroutine of
	// theirs panicked and they were removed.
	Panics uint64
	// LegForeignPackets counts packets plain-RTP legs dropped because they
	// came from an address the leg does not latch to.
	LegForeignPackets uint64
	// REDPackets counts audio packets sent as RED (to receivers that
	// negotiated it), and REDRedundant those of them that carried the
	// previous frame too (the receiver reported loss).
	REDPackets, REDRedundant uint64
}

// counters are Stats as the hot paths bump them. Every peer and leg holds
// a pointer to its engine's, so closing one loses nothing and reading them
// walks no list of peers.
type counters struct {
	videoInDropped, videoOutDropped, badRTP, paddingBytes, legForeign atomic.Uint64
	connectTimeouts, panics                                           atomic.Uint64
	pacerDropped, pacedPackets, paceDelayNs                           atomic.Uint64
	redPackets, redRedundant                                          atomic.Uint64
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	c := &e.stats
	return Stats{
		VideoInDropped:    c.videoInDropped.Load(),
		VideoOutDropped:   c.videoOutDropped.Load(),
		BadRTP:            c.badRTP.Load(),
		PaddingBytes:      c.paddingBytes.Load(),
		PacerDropped:      c.pacerDropped.Load(),
		PacedPackets:      c.pacedPackets.Load(),
		PaceDelay:         time.Duration(c.paceDelayNs.Load()),
		LegForeignPackets: c.legForeign.Load(),
		ConnectTimeouts:   c.connectTimeouts.Load(),
		Panics:            c.panics.Load(),
		REDPackets:        c.redPackets.Load(),
		REDRedundant:      c.redRedundant.Load(),
	}
}

// observer is what a peer or leg reports its hot paths' trouble to: the
// engine's counters, and the engine's sampled log written through the
// peer's own logger.
type observer struct {
	stats   *counters
	sampled *sampledLog
	log     *slog.Logger
}

// observer returns an observer for a peer or leg that logs through log.
func (e *Engine) observer(log *slog.Logger) observer {
	return observer{stats: &e.stats, sampled: e.sampled, log: log}
}

// debug logs at debug level, at most once per sampleEvery per message.
func (o observer) debug(msg string, args ...any) {
	o.sampled.log(o.log, slog.LevelDebug, msg, args...)
}
