package pionclient

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/h264"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/transport"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
)

// VideoOptions describe what a client sends as its camera.
type VideoOptions struct {
	// Y, U, V is the solid colour it sends.
	Y, U, V byte
	// Width, Height and FPS of the camera; default 320×240 at 15 fps.
	Width, Height, FPS int
	// Garbage sends random bytes as VP8 payloads instead of pictures.
	Garbage bool
	// Moving draws a white box sliding across the colour, so the encoders
	// (ours and the MCU's) do the work of a real camera.
	Moving bool
	// Noise adds fresh luma noise to every frame (with Moving), so every
	// encoder down the line spends its whole bitrate, as on a busy camera.
	Noise bool
	// Detail adds fine moving detail to every frame (with Moving; see
	// paintDetail): content that overshoots a loose rate control.
	Detail bool
	// Counter paints a frame counter band across the top of every frame
	// (see PaintCamera): ID and the frame number, which ReadCounter reads
	// back from the composite, so the video latency the MCU adds can be
	// measured against SentVideoFrames.
	Counter bool
	// ID is the camera's number in the counter, 0..MaxCounterID.
	ID int
	// Stripes, when > 0, paints black vertical stripes 3 px wide every
	// Stripes px over the colour: a screen's fine, text-like detail.
	Stripes int
	// BitrateBps is what its encoder aims at (0: 300 kb/s).
	BitrateBps int
	// Loop, when > 0, encodes Loop frames once (frame 0 a keyframe) and
	// replays them at FPS instead of encoding live: many load-generator
	// clients then spend no CPU encoding, and clients with the same
	// options share the encoded loop. Each wrap, and each keyframe request
	// from the server, restarts at frame 0. Not with Garbage or Noise.
	Loop int
}

// check rejects options that cannot be honoured together.
func (o *VideoOptions) check() error {
	switch {
	case o.ID < 0 || o.ID > MaxCounterID:
		return fmt.Errorf("%w: counter ID %d outside 0..%d", ErrBadVideoOptions, o.ID, MaxCounterID)
	case o.Loop < 0:
		return fmt.Errorf("%w: loop of %d frames", ErrBadVideoOptions, o.Loop)
	case o.Garbage && (o.Counter || o.Loop > 0):
		return fmt.Errorf("%w: garbage has no pictures to count or loop", ErrBadVideoOptions)
	case o.Noise && o.Loop > 0:
		return fmt.Errorf("%w: noise must be fresh in every frame, not looped", ErrBadVideoOptions)
	}
	return nil
}

// VideoStamp is when a camera frame was written to the track and the
// counter value painted in it (n mod CounterPeriod).
type VideoStamp struct {
	At time.Time
	N  int
}

// sendState is what the server and the test say to one sent video track.
type sendState struct {
	keyWanted atomic.Bool // the server asked for a keyframe (PLI/FIR)
	sending   atomic.Bool // cleared by StopVideo (StopScreen)
	loop      *cameraLoop // with VideoOptions.Loop; set before sendVideo starts
}

// videoClient is a client's video state.
type videoClient struct {
	sendState // the camera's
	inSSRC    atomic.Uint32
	plis      atomic.Uint64 // keyframes of the composite asked for (SendPLI)

	mu        sync.Mutex
	codec     string // MIME type of the composite received
	reports   []SenderReport
	arrivals  []Frame // arrival and RTP timestamp of each frame (no samples)
	latest    media.VideoFrame
	have      bool
	frames    int
	keyframes []time.Time // arrival of each received keyframe
	decodeErr int
	seq       seqCounter   // every video RTP packet, padding included
	pictures  seqCounter   // VP8 picture IDs: the frames sent
	complete  int          // frames assembled whole
	bytes     int          // video RTP payload and padding bytes received
	sent      []VideoStamp // with VideoOptions.Counter
}

// cameraBitrate is what the client's camera encoder aims at.
const cameraBitrate = 300000

// sendVideo paces the camera's frames, live or replayed from its loop, on
// absolute deadlines, and restarts from a keyframe when the server asks.
func (c *Client) sendVideo(track *webrtc.TrackLocalStaticSample, o VideoOptions, st *sendState) {
	defer c.wg.Done()
	loop := st.loop
	var live *liveCamera
	if loop == nil {
		var err error
		if live, err = newLiveCamera(track.Codec().MimeType, o); err != nil {
			return
		}
		defer live.close()
	}
	period := time.Second / time.Duration(o.FPS)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := 0 // the loop frame to send next
	for n := 0; ; n++ {
		select {
		case <-c.stop:
			return
		case <-timer.C:
		}
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * period)))
		if !st.sending.Load() {
			continue
		}
		key := st.keyWanted.Swap(false)
		var data []byte
		counter := n
		if loop != nil {
			if key || next == len(loop.frames) {
				next = 0
			}
			data, counter = loop.frames[next], next
			next++
		} else {
			data, _, _ = live.frame(n, key) // a failed encode is a frame not sent
		}
		if len(data) == 0 {
			continue // dropped by the encoder's rate control
		}
		at := time.Now()
		_ = track.WriteSample(pmedia.Sample{Data: data, Duration: period})
		if o.Counter {
			c.video.mu.Lock()
			c.video.sent = append(c.video.sent, VideoStamp{At: at, N: counter % CounterPeriod})
			c.video.mu.Unlock()
		}
	}
}

// liveCamera paints and encodes each frame as it is sent.
type liveCamera struct {
	o   VideoOptions
	enc codec.VideoEncoder
	kc  codec.KeyFrameController // nil if the encoder cannot force one
	pic *media.VideoFrame
	rng *mrand.Rand
	buf []byte
}

func newLiveCamera(mime string, o VideoOptions) (*liveCamera, error) {
	vc, err := videoRegistry.Video(mime)
	if err != nil {
		return nil, err
	}
	pic, err := media.NewVideoFrame(o.Width, o.Height)
	if err != nil {
		return nil, err
	}
	pic.Fill(o.Y, o.U, o.V)
	paintStripes(pic, o.Stripes)
	enc, err := vc.NewEncoder(codec.VideoEncoderParams{Width: o.Width, Height: o.Height, FPS: o.FPS, BitrateBps: cmp.Or(o.BitrateBps, cameraBitrate)})
	if err != nil {
		return nil, err
	}
	kc, _ := enc.(codec.KeyFrameController)
	return &liveCamera{o: o, enc: enc, kc: kc, pic: pic, rng: mrand.New(mrand.NewPCG(1, 2))}, nil
}

func (l *liveCamera) close() { _ = l.enc.Close() }

// frame returns frame n to send, a keyframe if key, in a buffer of its own
// (the track's H.264 packetiser may keep slices of it, the parameter sets,
// past the call); empty when the encoder dropped it.
func (l *liveCamera) frame(n int, key bool) (data []byte, isKey bool, err error) {
	o := l.o
	if o.Garbage {
		buf := make([]byte, 200)
		_, _ = rand.Read(buf)
		return buf, false, nil
	}
	paintFrame(l.pic, o, n)
	if o.Detail && o.Moving {
		paintDetail(l.pic, n)
	}
	if o.Noise {
		for i := range l.pic.Y {
			l.pic.Y[i] += byte(l.rng.Uint32() & 31)
		}
		if o.Counter {
			// Noise would wrap the white cells round to black.
			paintCounter(l.pic, o.ID, n)
		}
	}
	if key && l.kc != nil {
		l.kc.ForceKeyFrame()
	}
	out, isKey, err := l.enc.Encode(l.pic, l.buf[:0])
	if err != nil {
		return nil, false, err
	}
	l.buf = out
	return append([]byte(nil), out...), isKey, nil
}

// paintFrame turns pic, holding frame n-1 of camera o (or its plain colour
// before frame 0), into frame n: a Moving camera is repainted, a still one
// only gets its new counter.
func paintFrame(pic *media.VideoFrame, o VideoOptions, n int) {
	switch {
	case o.Moving:
		PaintCamera(pic, o, n)
	case o.Counter:
		paintCounter(pic, o.ID, n)
	}
}

// noteKeyFrameRequest notes the server's keyframe requests for a track.
func (st *sendState) noteKeyFrameRequest(p rtcp.Packet) {
	switch p.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
		st.keyWanted.Store(true)
	}
}

// paintStripes paints black vertical stripes 3 px wide every period px
// (none for period ≤ 0).
func paintStripes(pic *media.VideoFrame, period int) {
	if period <= 0 {
		return
	}
	for y := range pic.Height {
		row := pic.Y[y*pic.StrideY : y*pic.StrideY+pic.Width]
		for x := 0; x < pic.Width; x += period {
			for k := x; k < min(x+3, pic.Width); k++ {
				row[k] = 16
			}
		}
	}
}

// videoRegistry has the video codecs a client can send and receive.
var videoRegistry = func() *codec.Registry {
	var r codec.Registry
	if err := errors.Join(vpx.Register(&r), h264.Register(&r)); err != nil {
		panic(err) // fixed at build time
	}
	return &r
}()

// recordVideo assembles the composite the server sends, and decodes it
// unless Options.CountVideoOnly.
//
// Decoding runs on a goroutine of its own, as a browser decodes off its
// network thread: pion records a packet's arrival for transport-wide
// feedback when the track is read, so packets waiting behind a decode
// were reported late (queueing the link never had) and, once the audio
// track's later packets were reported first, as lost.
func (c *Client) recordVideo(tr *webrtc.TrackRemote) {
	mime := tr.Codec().MimeType
	c.video.mu.Lock()
	c.video.codec = mime
	c.video.mu.Unlock()
	c.video.inSSRC.Store(uint32(tr.SSRC()))
	asm, err := transport.NewFrameAssembler(mime, 200*time.Millisecond)
	if err != nil {
		return
	}
	var frames chan arrivedFrame // nil with CountVideoOnly
	if !c.opts.CountVideoOnly {
		vc, err := videoRegistry.Video(mime)
		if err != nil {
			return
		}
		dec, err := vc.NewDecoder()
		if err != nil {
			return
		}
		frames = make(chan arrivedFrame, decodeQueue)
		decoded := make(chan struct{})
		go func() {
			defer close(decoded)
			defer dec.Close()
			for f := range frames {
				c.decodeVideo(dec, f)
			}
		}()
		defer func() { close(frames); <-decoded }()
	}
	var ts uint32
	var at time.Time // arrival of the packet that completes the frame
	vp8 := strings.EqualFold(mime, webrtc.MimeTypeVP8)
	var desc codecs.VP8Packet
	deliver := func(data []byte, _ bool) {
		c.video.mu.Lock()
		c.video.arrivals = append(c.video.arrivals, Frame{At: at, TS: ts})
		if asm.IsKeyFrame(data) {
			c.video.keyframes = append(c.video.keyframes, at)
		}
		if frames == nil {
			c.video.frames++
		}
		c.video.complete++
		c.video.mu.Unlock()
		if frames != nil {
			frames <- arrivedFrame{data: data, at: at}
		}
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		ts, at = pkt.Timestamp, time.Now()
		picture := -1
		if vp8 && len(pkt.Payload) > 0 {
			if _, err := desc.Unmarshal(pkt.Payload); err == nil && desc.I == 1 {
				picture = int(desc.PictureID)
			}
		}
		c.video.mu.Lock()
		c.video.seq.add(pkt.SequenceNumber)
		if picture >= 0 {
			c.video.pictures.addWrapping(int64(picture), 15)
		}
		c.video.bytes += len(pkt.Payload) + int(pkt.PaddingSize)
		c.video.mu.Unlock()
		asm.Push(pkt, at, deliver)
	}
}

// decodeQueue is how many assembled frames may wait for the decoder (two
// seconds at 30 fps) before the reader waits for it.
const decodeQueue = 64

// arrivedFrame is an assembled frame and the arrival of the packet that
// completed it.
type arrivedFrame struct {
	data []byte
	at   time.Time
}

// decodeVideo decodes one received frame and keeps the picture.
func (c *Client) decodeVideo(dec codec.VideoDecoder, f arrivedFrame) {
	pic, err := dec.Decode(f.data)
	if err == nil && pic != nil && c.opts.OnComposite != nil {
		c.opts.OnComposite(f.at, pic)
	}
	c.video.mu.Lock()
	switch {
	case err != nil:
		c.video.decodeErr++
	case pic != nil:
		c.video.latest.CopyFrom(pic)
		c.video.have = true
		c.video.frames++
	}
	c.video.mu.Unlock()
	// As a browser does: ask for a keyframe to recover.
	if errors.Is(err, codec.ErrNeedKeyFrame) {
		_ = c.SendPLI()
	}
}

// LatestVideo returns a copy of the last decoded composite (nil before the
// first, and always with Options.CountVideoOnly) and how many frames were
// decoded (with CountVideoOnly: assembled) so far.
func (c *Client) LatestVideo() (*media.VideoFrame, int) {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	if !c.video.have {
		return nil, c.video.frames
	}
	var f media.VideoFrame
	f.CopyFrom(&c.video.latest)
	return &f, c.video.frames
}

// SentVideoFrames returns when each camera frame was written and the
// counter value it shows (empty unless VideoOptions.Counter).
func (c *Client) SentVideoFrames() []VideoStamp {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	return append([]VideoStamp(nil), c.video.sent...)
}

// VideoPackets counts the video packets (padding included) received and
// sent to this client, and the bytes received.
func (c *Client) VideoPackets() (Counts, int) {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	return c.video.seq.counts(), c.video.bytes
}

// VideoFrames counts the composite frames this client assembled whole
// and, by the VP8 picture IDs seen, those sent: video loss as a viewer
// has it, without the probe padding that VideoPackets counts (padding is
// never resent, so a probe that overfills a link shows as packet loss
// though no picture was lost). Zero for H.264, which numbers no pictures.
func (c *Client) VideoFrames() Counts {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	n := c.video.pictures.counts()
	if n.Expected == 0 {
		return Counts{}
	}
	return Counts{Received: c.video.complete, Expected: n.Expected}
}

// VideoFrameTimes returns the arrival time and RTP timestamp of every
// composite frame received.
func (c *Client) VideoFrameTimes() []Frame {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	return append([]Frame(nil), c.video.arrivals...)
}

// VideoSenderReports returns the sender reports of the composite.
func (c *Client) VideoSenderReports() []SenderReport {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	return append([]SenderReport(nil), c.video.reports...)
}

// VideoCodec returns the MIME type the composite arrives in ("" before).
func (c *Client) VideoCodec() string {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	return c.video.codec
}

// KeyFrames returns the arrival times of the keyframes received so far.
func (c *Client) KeyFrames() []time.Time {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	return append([]time.Time(nil), c.video.keyframes...)
}

// SendPLI asks the server for a keyframe of the composite.
func (c *Client) SendPLI() error {
	c.video.plis.Add(1)
	return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: c.video.inSSRC.Load()}})
}

// PLIsSent is how many keyframes of the composite the client asked for,
// itself (to recover from loss) or through SendPLI.
func (c *Client) PLIsSent() uint64 { return c.video.plis.Load() }

// StopVideo stops sending camera frames (the connection stays up).
func (c *Client) StopVideo() { c.video.sending.Store(false) }

// PaintCamera paints frame n of a Moving camera: the colour with a white
// box at a position that advances every frame and, with o.Counter, the
// counter band on top (so the box never covers it): across the top, 14
// cells of 1/14 the width and 1/8 the height (rounded down) from (0, 0),
// a black (luma 16) and a white (235) guard, then o.ID in 3 cells and
// n mod CounterPeriod in 9, most significant bit first, a 1 white and a 0
// black. Benchmarks use it to make the same pictures the clients send.
func PaintCamera(pic *media.VideoFrame, o VideoOptions, n int) {
	pic.Fill(o.Y, o.U, o.V)
	size := pic.Height / 4
	x0 := (n * 8) % (pic.Width - size)
	y0 := (n * 3) % (pic.Height - size)
	for y := y0; y < y0+size; y++ {
		row := pic.Y[y*pic.StrideY:]
		for x := x0; x < x0+size; x++ {
			row[x] = 235
		}
	}
	if o.Counter {
		paintCounter(pic, o.ID, n)
	}
}
