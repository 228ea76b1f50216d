package jitter

import (
	"math"
	"time"
)

// Jitter estimate parameters (see the package documentation).
const (
	baseBuckets    = 4               // transit-minimum window: baseBuckets × baseBucketDur
	baseBucketDur  = 2 * time.Second //
	jitterHold     = 2 * time.Second // a peak is held this long ...
	jitterHalfLife = 3 * time.Second // ... then decays with this half-life
)

// estimator measures arrival jitter as a peak-hold of transit deviation.
//
// transit = arrival − timestamp (both as durations since the stream's first
// packet). base is the minimum transit over the last ~6–8 s (bucketed, so it
// follows clock drift and route changes); a packet's deviation is
// transit − base, i.e. how much later than the fastest recent packet it came.
// The jitter estimate jumps up to any deviation above it at once, is held
// for jitterHold, then decays exponentially with jitterHalfLife.
type estimator struct {
	buckets [baseBuckets]bucket
	last    time.Duration // latest arrival seen (arrivals are clamped monotonic)
	base    time.Duration // windowed minimum transit
	has     bool
	peak    time.Duration
	peakAt  time.Duration
}

type bucket struct {
	idx  int64
	min  time.Duration
	used bool
}

func (e *estimator) reset() { *e = estimator{} }

// update feeds one packet's arrival time and transit. maxDev caps the
// deviation a single packet can contribute.
func (e *estimator) update(arr, transit, maxDev time.Duration) {
	if arr < e.last {
		arr = e.last
	}
	e.last = arr
	idx := int64(arr / baseBucketDur)
	bk := &e.buckets[idx%baseBuckets]
	if !bk.used || bk.idx != idx {
		*bk = bucket{idx: idx, min: transit, used: true}
	} else if transit < bk.min {
		bk.min = transit
	}
	base := transit
	for i := range e.buckets {
		b := &e.buckets[i]
		if b.used && b.idx > idx-baseBuckets && b.min < base {
			base = b.min
		}
	}
	e.base, e.has = base, true
	dev := min(transit-base, maxDev)
	if dev >= e.jitterAt(arr) {
		e.peak, e.peakAt = dev, arr
	}
}

// jitterAt is the jitter estimate at time t (since the stream's epoch).
func (e *estimator) jitterAt(t time.Duration) time.Duration {
	el := t - e.peakAt - jitterHold
	if el <= 0 || e.peak == 0 {
		return e.peak
	}
	return time.Duration(float64(e.peak) * math.Exp2(-float64(el)/float64(jitterHalfLife)))
}
