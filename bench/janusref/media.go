package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/bench/internal/onset"
	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/pion/rtp"
)

const (
	sampleRate  = opusloop.SampleRate
	frameLen    = opusloop.FrameLen
	payloadType = opusloop.PayloadType

	// The latency talker's cycle: 400 ms tone, 600 ms silence.
	toggleOnFrames    = 20
	toggleCycleFrames = 50
)

// toggleHz is the latency talker's tone: a multiple of 50 Hz (whole cycles
// per 20 ms frame, so every burst starts at phase 0) at least 400 Hz above
// every steady tone in the mix, so a Hann-windowed detector sees none of
// them.
func toggleHz(talkers int) float64 {
	top := opusloop.ToneHz(max(talkers-1, 0)) + 400
	return max(1000, math.Ceil(top/50)*50)
}

// toggleLoop is one 1 s cycle: 400 ms of tone, 600 ms of silence, coded
// with one encoder as a continuous stream (after one cycle of warm-up).
func toggleLoop(hz, amp float64) ([][]byte, error) {
	return opusloop.Encode(toggleCycleFrames, toggleCycleFrames, func(pcm []int16, f int) {
		if f%toggleCycleFrames < toggleOnFrames {
			opusloop.Sine(pcm, hz, amp, f)
		} else {
			clear(pcm)
		}
	})
}

// heard is one received frame of the listener: when it arrived and the
// level of the latency tone in it.
type heard struct {
	at    time.Time
	level float64
	pcm   []int16 // the decoded frame, for the onset detector
}

// participant is one plain RTP member of the room: a loopback UDP socket
// that sends its pre-encoded stream to Janus and counts the mix it gets.
type participant struct {
	idx    int
	conn   *net.UDPConn
	handle int64 // Janus handle
	id     int64 // AudioBridge participant ID
	janus  *net.UDPAddr
	loop   [][]byte

	stream opusloop.Stream

	received atomic.Int64
	lastSeq  atomic.Int64    // last received sequence number, -1 before the first
	gaps     atomic.Int64    // received packets that did not follow the previous one
	modes    [3]atomic.Int64 // received packets by Opus mode (TOC): SILK, hybrid, CELT

	// toggle: this participant's loop is toggleLoop; send times of onsets.
	toggle bool
	mu     sync.Mutex
	onsets []time.Time

	// listen: decode the mix and keep the latency tone's level per frame.
	listen   bool
	detectHz float64
	heard    []heard
}

func newParticipant(idx int) (*participant, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(1 << 20)
	p := &participant{idx: idx, conn: conn, stream: opusloop.Stream{SSRC: rand.Uint32(), Seq: uint16(rand.UintN(1 << 16)), TS: rand.Uint32()}}
	p.lastSeq.Store(-1)
	return p, nil
}

func (p *participant) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// send paces the loop to Janus on absolute 20 ms deadlines from start until
// stop closes. Packet k carries seq+k and ts+960k; a late wake-up sends at
// once instead of skipping, so the stream never has holes.
func (p *participant) send(start time.Time, stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	buf := make([]byte, opusloop.HeaderLen+1500)
	timer := time.NewTimer(time.Until(start))
	defer timer.Stop()
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		n := p.stream.Packet(buf, k, p.loop[k%len(p.loop)])
		if _, err := p.conn.WriteToUDP(buf[:n], p.janus); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
		if p.toggle && k%toggleCycleFrames == 0 {
			at := time.Now()
			p.mu.Lock()
			p.onsets = append(p.onsets, at)
			p.mu.Unlock()
		}
		timer.Reset(time.Until(start.Add(time.Duration(k+1) * opusloop.FramePeriod)))
	}
}

// receive counts the mixed packets Janus sends, and for the listener
// decodes them, until the socket closes.
func (p *participant) receive(done *sync.WaitGroup) {
	defer done.Done()
	var dec *opus.Decoder
	var pcm []int16
	if p.listen {
		var err error
		if dec, err = opus.NewDecoder(); err != nil {
			logf("participant %d: opus decoder: %v", p.idx, err)
			p.listen = false
		} else {
			defer dec.Close()
			pcm = make([]int16, opus.MaxPacketSamples)
		}
	}
	buf := make([]byte, 2048)
	var h rtp.Header
	for {
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		at := time.Now()
		off, err := h.Unmarshal(buf[:n])
		if err != nil || h.PayloadType != payloadType {
			continue
		}
		p.received.Add(1)
		if last := p.lastSeq.Swap(int64(h.SequenceNumber)); last >= 0 && uint16(last)+1 != h.SequenceNumber {
			p.gaps.Add(1)
		}
		if off >= n {
			continue
		}
		p.modes[opus.PacketMode(buf[off])].Add(1)
		if dec == nil {
			continue
		}
		m, err := dec.Decode(buf[off:n], pcm)
		if err != nil {
			continue
		}
		level := onset.Level(pcm[:m], p.detectHz)
		p.mu.Lock()
		p.heard = append(p.heard, heard{at: at, level: level, pcm: slices.Clone(pcm[:m])})
		p.mu.Unlock()
	}
}

func (p *participant) onsetTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.onsets)
}

func (p *participant) heardFrames() []heard {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.heard)
}

// onsetStats matches each onset (when the tone starts in what the toggling
// participant sent, to the millisecond: bench/internal/onset) with its start in
// what the listener received within the following 900 ms, at amplitude thr
// or more, and returns the delays in milliseconds: the same measure
// bench/load takes of the mcu. baseline is the 95th percentile of the
// tone's level in the frames that arrived in the 300 ms before each onset
// (end of the silent part of the cycle): far below thr when the detection
// is trustworthy.
func onsetStats(onsets []time.Time, frames []heard, hz, thr float64) (lat []float64, baseline float64) {
	var quiet []float64
	heardFrames := make([]onset.Frame, len(frames))
	for i, f := range frames {
		heardFrames[i] = onset.Frame{At: f.at, Samples: f.pcm}
	}
	for _, on := range onsets {
		for _, f := range frames {
			if !f.at.Before(on.Add(-300*time.Millisecond)) && f.at.Before(on) {
				quiet = append(quiet, f.level)
			}
		}
		if to, ok := onset.First(heardFrames, on, 900*time.Millisecond, hz, thr); ok {
			lat = append(lat, float64(to.Sub(on).Microseconds())/1000)
		}
	}
	if len(quiet) > 0 {
		slices.Sort(quiet)
		baseline = quiet[len(quiet)*95/100]
	}
	return lat, baseline
}

// sentOnset is where the tone starts in the decoded toggle loop, after the
// start of its first tone packet (the encoder's look-ahead, and the
// detector's window): added to each first tone packet's send time, it
// gives the onset in what was sent, measured as bench/load measures it.
func sentOnset(loop [][]byte, hz, thr float64) (time.Duration, error) {
	dec, err := opus.NewDecoder()
	if err != nil {
		return 0, err
	}
	defer dec.Close()
	t0 := time.Now()
	var frames []onset.Frame
	pcm := make([]int16, opus.MaxPacketSamples)
	for k := range 2 * len(loop) { // the second pass, from a decoder in steady state
		n, err := dec.Decode(loop[k%len(loop)], pcm)
		if err != nil {
			return 0, err
		}
		frames = append(frames, onset.Frame{At: t0.Add(time.Duration(k) * opusloop.FramePeriod), Samples: slices.Clone(pcm[:n])})
	}
	start := t0.Add(time.Duration(len(loop)) * opusloop.FramePeriod)
	at, ok := onset.First(frames, start, time.Second, hz, thr)
	if !ok {
		return 0, errors.New("the toggle loop's tone is not detected")
	}
	return at.Sub(start), nil
}

// median of xs; -1 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtAddr(ip string, port int) string { return fmt.Sprintf("%s:%d", ip, port) }

func resolveUDP(addr string) (*net.UDPAddr, error) { return net.ResolveUDPAddr("udp4", addr) }
