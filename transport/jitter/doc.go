// Package jitter is an adaptive audio jitter buffer for one RTP stream,
// made for Opus (48 kHz clock, 10–60 ms packets) but usable for any audio
// clock rate.
//
// A network goroutine Pushes packets as they arrive; the room's mixing clock
// Pops (pull model) whenever it needs the next packet to decode. The caller
// decodes: on Lost it runs packet-loss concealment, or in-band FEC decoding
// of Result.Next when that is set; on Empty it conceals or plays silence.
// The package is pure: no goroutines, no locks (the caller serialises all
// calls), no wall clock (arrival and pop times are passed in, from one
// monotonic clock), no allocation once payload buffers have grown.
//
// # Depth is measured in time
//
// Sequence numbers are extended to 64 bits (16-bit wraparound) and
// timestamps likewise (32-bit wraparound). The buffered depth is the audio
// from the playout point to the end of the newest packet, in RTP timestamp
// units: newest.ts + frame − head.ts, where head is the next packet to play
// (its timestamp is extrapolated from the first buffered packet when it is
// missing, so gaps count as audio to conceal) and frame is the packet
// duration learnt from consecutive packets (2.5–120 ms; 20 ms until known).
// Packet counts never enter the timing, so 10 ms and 60 ms packets behave
// like 20 ms ones; the caller Pops once per packet's worth of audio.
//
// # Target delay (adaptation rule)
//
// For each packet that is not a duplicate (late ones included, because they
// measure jitter the buffer failed to absorb), transit = arrival − timestamp
// (both relative to the stream's first packet). base is the minimum transit
// over the last 6–8 s (2 s buckets, so clock drift and route changes are
// followed); deviation = transit − base is how much later than the fastest
// recent packet this one came. The jitter estimate J is a peak-hold of the
// deviation: it jumps up to any larger deviation at once (fast convergence
// upward), holds for 2 s, then decays exponentially with a 3 s half-life
// (slow decay). The target delay is
//
//	target = clamp(frame + J, MinDelay, MaxDelay)
//
// so with no jitter it stays at one packet (MinDelay, 20 ms, by default).
// target − frame is the jitter allowance: how long after its expected
// arrival (base + its timestamp) a packet may still come in time.
//
// # Playout
//
// Before playout, and again after an underrun, the buffer (re)buffers:
// Pop returns Empty until the head packet is due — its expected arrival
// plus the allowance has passed — or the depth reaches the target. Due
// time, not a whole number of buffered packets, decides: with 20 ms packets
// and 20 ms Pops, a packet played at its due time leaves every later packet
// that arrives within the allowance in time for its own Pop, so a 2 ms
// jitter estimate costs about 2 ms of delay, not another packet. Before the
// first playout of a stream the estimate has seen too few packets to trust,
// so one more frame is allowed (shrinking takes it back).
//
// For lossHold (10 s) after a loss — a Lost handed out, or a sequence gap
// while playing — the target has one more frame and (re)buffering waits
// until the depth reaches the target or the oldest buffered packet has
// waited the whole target: a packet of cushion. FEC recovers packet N from
// N+1, so N+1 must be buffered when N is declared lost, and the cushion
// absorbs the jitter estimate's swings that would otherwise make a missing
// packet be waited for, and concealed, before it is declared lost. Before
// the first
// playout a packet older than the buffered ones is still accepted and
// becomes the head; afterwards anything behind the playout point is Late.
//
// While playing, each Pop:
//
//   - returns Packet for the next sequence number when it is buffered;
//   - returns Empty and counts an underrun when nothing is buffered; playout
//     pauses (which grows the actual delay) and rebuffers to the target;
//   - when the next sequence number is missing but a later packet is
//     buffered, declares it Lost (and advances past it) if any of:
//     the audio buffered after the gap is ≥ target; the missing packet is
//     overdue, i.e. now ≥ its earliest expected arrival (base + its
//     timestamp) + target − frame; or the depth exceeds target + 2 frames.
//     Otherwise it returns Empty and waits (Stats.Waits): playout is below
//     its budget and the packet may still come. Next carries the following
//     packet's payload when it is the very next sequence number.
//     When the depth exceeds target + 2 frames (typically after an outage
//     whose duration the Empty pops already concealed), missing sequence
//     numbers beyond what brings the depth back to target + 1 frame are
//     skipped rather than each reported, so one Lost (with FEC data when
//     available) stands for the gap; skipped ones are still counted in
//     Stats.Lost.
//
// # Shrinking and bounds
//
// The excess is what Pops could do without: on a clean link the head's
// slack beyond its due time; during lossHold the depth beyond target + 1
// frame. If it stays above a frame at every Pop for ShrinkAfter (1 s), the
// smallest excess seen over that period, in whole frames, is dropped from
// the head in one go (Stats.DroppedShrink). Excess is waiting beyond what
// the jitter estimate (and the FEC cushion) asks for, so dropping it
// cannot make a later packet late. This follows clock drift, bursts after
// network stalls, a target that decayed, and takes back the first
// playout's extra frame.
//
// At most MaxPackets packets are buffered; the sequence-number window is
// [playout point, playout point + MaxPackets). A packet beyond it evicts the
// oldest packets (PushResult Overflow), or skips the gap outright when
// nothing older is buffered. A sequence jump of more than ResyncPackets
// (1000) either way, or a transit change of more than ResyncTransit (5 s;
// a timestamp jump without a matching pause), resynchronises: the buffer is
// flushed and the packet starts a new stream (PushResult Resynced) instead
// of thousands of losses being reported. Silence with continuous sequence
// numbers (DTX, VAD) is not a jump: its timestamps and arrivals move
// together.
//
// # Ownership
//
// Push copies the payload. Result.Payload and Result.Next are owned by the
// Buffer and stay valid until the next Pop (Push does not touch them).
package jitter
