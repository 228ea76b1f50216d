package pionclient

import (
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/h264"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/transport"
	"github.com/pion/rtcp"
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
}

// videoClient is a client's video state.
type videoClient struct {
	keyWanted atomic.Bool // the server asked for a keyframe (PLI/FIR)
	sending   atomic.Bool // cleared by StopVideo
	inSSRC    atomic.Uint32

	mu        sync.Mutex
	codec     string // MIME type of the composite received
	reports   []SenderReport
	arrivals  []Frame // arrival and RTP timestamp of each frame (no samples)
	latest    media.VideoFrame
	have      bool
	frames    int
	keyframes []time.Time // arrival of each received keyframe
	decodeErr int
	seq       seqCounter // every video RTP packet, padding included
	bytes     int        // video RTP payload and padding bytes received
}

// sendVideo paces frames of the client's colour (or garbage) and forces a
// keyframe when the server asks for one.
func (c *Client) sendVideo(track *webrtc.TrackLocalStaticSample, o VideoOptions) {
	defer c.wg.Done()
	vc, err := videoRegistry.Video(track.Codec().MimeType)
	if err != nil {
		return
	}
	enc, err := vc.NewEncoder(codec.VideoEncoderParams{Width: o.Width, Height: o.Height, FPS: o.FPS, BitrateBps: 300000})
	if err != nil {
		return
	}
	defer enc.Close()
	kc, _ := enc.(codec.KeyFrameController)
	pic, err := media.NewVideoFrame(o.Width, o.Height)
	if err != nil {
		return
	}
	pic.Fill(o.Y, o.U, o.V)
	rng := mrand.New(mrand.NewPCG(1, 2))
	period := time.Second / time.Duration(o.FPS)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var buf []byte
	for n := 0; ; n++ {
		select {
		case <-c.stop:
			return
		case <-timer.C:
		}
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * period)))
		if !c.video.sending.Load() {
			continue
		}
		if o.Garbage {
			buf = make([]byte, 200)
			_, _ = rand.Read(buf)
		} else {
			if o.Moving {
				PaintCamera(pic, o, n)
			}
			if o.Noise {
				for i := range pic.Y {
					pic.Y[i] += byte(rng.Uint32() & 31)
				}
			}
			if c.video.keyWanted.Swap(false) && kc != nil {
				kc.ForceKeyFrame()
			}
			var key bool
			if buf, key, err = enc.Encode(pic, buf[:0]); err != nil || len(buf) == 0 {
				continue
			}
			_ = key
		}
		_ = track.WriteSample(pmedia.Sample{Data: append([]byte(nil), buf...), Duration: period})
	}
}

// readVideoRTCP notes the server's keyframe requests for our camera.
func (c *Client) readVideoRTCP(s *webrtc.RTPSender) {
	defer c.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				c.video.keyWanted.Store(true)
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

// recordVideo assembles and decodes the composite the server sends.
func (c *Client) recordVideo(tr *webrtc.TrackRemote) {
	mime := tr.Codec().MimeType
	c.video.mu.Lock()
	c.video.codec = mime
	c.video.mu.Unlock()
	c.video.inSSRC.Store(uint32(tr.SSRC()))
	vc, err := videoRegistry.Video(mime)
	if err != nil {
		return
	}
	dec, err := vc.NewDecoder()
	if err != nil {
		return
	}
	defer dec.Close()
	asm, err := transport.NewFrameAssembler(tr.Codec().MimeType, 200*time.Millisecond)
	if err != nil {
		return
	}
	var ts uint32
	deliver := func(data []byte, _ bool) {
		key := asm.IsKeyFrame(data)
		pic, err := dec.Decode(data)
		c.video.mu.Lock()
		c.video.arrivals = append(c.video.arrivals, Frame{At: time.Now(), TS: ts})
		if key {
			c.video.keyframes = append(c.video.keyframes, time.Now())
		}
		if err != nil {
			c.video.decodeErr++
		} else if pic != nil {
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
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		ts = pkt.Timestamp
		c.video.mu.Lock()
		c.video.seq.add(pkt.SequenceNumber)
		c.video.bytes += len(pkt.Payload) + int(pkt.PaddingSize)
		c.video.mu.Unlock()
		asm.Push(pkt, time.Now(), deliver)
	}
}

// LatestVideo returns a copy of the last decoded composite (nil before the
// first) and how many frames were decoded so far.
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

// VideoPackets counts the video packets (padding included) received and
// sent to this client, and the bytes received.
func (c *Client) VideoPackets() (Counts, int) {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	return c.video.seq.counts(), c.video.bytes
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
	return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: c.video.inSSRC.Load()}})
}

// StopVideo stops sending camera frames (the connection stays up).
func (c *Client) StopVideo() { c.video.sending.Store(false) }

// PaintCamera paints frame n of a Moving camera: the colour with a white
// box at a position that advances every frame. Benchmarks use it to make
// the same pictures the clients send.
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
}
