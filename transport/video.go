package transport

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

const (
	// inFrameQueue bounds complete frames waiting for the room's decoder:
	// a slow decoder drops frames (then waits for a keyframe) rather than
	// growing memory or delay.
	inFrameQueue = 4
	// outFrameQueue bounds encoded frames waiting to be sent to one
	// receiver; a receiver that cannot keep up drops to the next keyframe.
	outFrameQueue = 8
	// pliInterval spaces our keyframe requests to one sender.
	pliInterval = 300 * time.Millisecond
	// maxVideoPayload is the RTP payload size for outgoing video, leaving
	// room for RTP, SRTP and header extensions within a 1500-byte MTU.
	maxVideoPayload = 1200
	// frameAssemblyLate bounds how long frame assembly waits for missing
	// packets (NACK retransmissions) before dropping the frame.
	frameAssemblyLate = 200 * time.Millisecond
)

// videoInput is one incoming video track's frames on their way to the
// room: the camera, or a screen share.
type videoInput struct {
	frames chan []byte // complete encoded frames to the room; closed by Peer.Close
	inSSRC atomic.Uint32
	// lastPLI is when we last asked the sender for a keyframe (unix ns).
	lastPLI atomic.Int64
}

// videoState is a peer's video: assembled incoming frames of its camera,
// and the queue of outgoing ones.
type videoState struct {
	videoInput

	out     *rtpOut // nil when the client receives no video
	outMime string  // the codec of out
	queue   chan *videoPacket
	free    chan *videoPacket
	// waitKey: egress dropped a frame, so later frames are useless to the
	// receiver until a keyframe. Only WriteVideo's caller touches it.
	waitKey bool
	// keyRequested: the receiver asked for a keyframe (PLI/FIR), or egress
	// dropped frames; the room polls it with TakeKeyFrameRequest.
	keyRequested atomic.Bool

	// padBps is the probe padding to send on top of the media; padWake
	// tells the sender goroutine that padding started.
	padBps  atomic.Int64
	padWake chan struct{}
	// padCredit is the probe's padding bytes not sent yet, lastMedia
	// when the last video packet left; only the sender goroutine touches
	// them.
	padCredit int
	lastMedia time.Time

	// pace spreads what leaves toward the receiver; audio writes (on the
	// audio clock) and the video sender share it under paceMu.
	paceMu sync.Mutex
	pace   *pacer
}

type videoPacket struct {
	data []byte
	key  bool
	ts   uint32
	at   time.Time
}

func (v *videoState) init() {
	v.waitKey = true // a receiver can only start decoding at a keyframe
	v.frames = make(chan []byte, inFrameQueue)
	v.queue = make(chan *videoPacket, outFrameQueue)
	v.free = make(chan *videoPacket, outFrameQueue+1)
	v.padWake = make(chan struct{}, 1)
	v.pace = newPacer(int(pacingFactor * initialEstimate))
}

// paced records n bytes of audio sent toward the receiver outside the
// pacer's queue, so that video leaves them their room; they count in the
// media rate the pacer keeps up with, as video does.
func (v *videoState) paced(n int, now time.Time) {
	v.paceMu.Lock()
	v.pace.sent(n, now)
	v.pace.arrived(n, now)
	v.paceMu.Unlock()
}

// readVideo assembles frames from RTP and hands them to the room. After
// any loss or drop it discards frames until a keyframe (asking the sender
// for one), so the decoder never sees a broken reference chain.
func (p *Peer) readVideo(track *webrtc.TrackRemote, in *videoInput) {
	asm, err := NewFrameAssembler(track.Codec().MimeType, frameAssemblyLate)
	if err != nil {
		p.obs.log.Warn("cannot receive video", "err", err)
		drain(track)
		return
	}
	in.inSSRC.Store(uint32(track.SSRC()))
	p.requestKeyFrame(in) // a new sender's first frames may not be a keyframe
	waitKey := true
	deliver := func(frame []byte, afterLoss bool) {
		if afterLoss {
			waitKey = true
		}
		if waitKey {
			if !asm.IsKeyFrame(frame) {
				p.dropIn(in, "incoming video frame dropped: waiting for a keyframe")
				return
			}
			waitKey = false
		}
		select {
		case in.frames <- frame:
		default:
			waitKey = true
			p.dropIn(in, "incoming video frame dropped: decoder queue full")
		}
	}
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		asm.Push(pkt, time.Now(), deliver)
	}
}

// dropIn counts an incoming frame the room will not get, and asks the
// sender for the keyframe that decoding must restart from.
func (p *Peer) dropIn(in *videoInput, why string) {
	p.obs.stats.videoInDropped.Add(1)
	p.obs.debug(why)
	p.requestKeyFrame(in)
}

// drain reads and discards a track the room cannot use.
func drain(track *webrtc.TrackRemote) {
	buf := make([]byte, maxRTPPayload)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
	}
}

// VideoFrames implements room.VideoPeer: the participant's complete frames
// (VP8, or H.264 as Annex-B access units), in order, starting at a
// keyframe. Closed when the peer closes.
func (p *Peer) VideoFrames() <-chan []byte { return p.video.frames }

// RequestKeyFrame implements room.VideoPeer: a PLI to the sender, at most
// one per pliInterval.
func (p *Peer) RequestKeyFrame() { p.requestKeyFrame(&p.video.videoInput) }

// requestKeyFrame sends a PLI for one incoming track, at most one per
// pliInterval.
func (p *Peer) requestKeyFrame(in *videoInput) {
	ssrc := in.inSSRC.Load()
	now := time.Now().UnixNano()
	last := in.lastPLI.Load()
	if ssrc == 0 || p.closing.Load() || now-last < int64(pliInterval) || !in.lastPLI.CompareAndSwap(last, now) {
		return
	}
	if err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		p.obs.debug("PLI failed", "err", err)
	}
}

// attachVideoOut adds our outgoing video (the room's canvas) in codec c
// and starts the goroutine that sends it.
func (p *Peer) attachVideoOut(c webrtc.RTPCodecCapability) error {
	if _, err := formatFor(c.MimeType); err != nil {
		return err
	}
	s, sender, err := p.newOutStream(c, "video")
	if err != nil {
		return err
	}
	p.video.out, p.video.outMime = s, c.MimeType
	if p.startWorker() {
		go p.readRTCP(sender, true)
	}
	if p.startWorker() {
		go p.sendVideo()
	}
	return nil
}

// WriteVideo implements room.VideoPeer: it queues one encoded frame without
// blocking. When the queue is full the frame is dropped, and so is every
// later frame until a keyframe, which is requested.
func (p *Peer) WriteVideo(frame []byte, keyframe bool, ts uint32, at time.Time) error {
	v := &p.video
	if v.out == nil {
		return nil
	}
	if p.closing.Load() {
		return ErrPeerClosed
	}
	if v.waitKey {
		if !keyframe {
			p.dropOut("outgoing video frame dropped: waiting for a keyframe")
			return nil
		}
		v.waitKey = false
	}
	var pk *videoPacket
	select {
	case pk = <-v.free:
	default:
		pk = &videoPacket{}
	}
	pk.data = append(pk.data[:0], frame...)
	pk.key, pk.ts, pk.at = keyframe, ts, at
	select {
	case v.queue <- pk:
	default:
		p.dropOut("outgoing video frame dropped: send queue full")
		v.waitKey = true
		v.keyRequested.Store(true)
		select {
		case v.free <- pk:
		default:
		}
	}
	return nil
}

// dropOut counts an encoded frame the receiver will not get.
func (p *Peer) dropOut(why string, args ...any) {
	p.obs.stats.videoOutDropped.Add(1)
	p.obs.debug(why, args...)
}

// TakeKeyFrameRequest implements room.VideoPeer: whether the receiver
// needs a keyframe (it sent PLI/FIR, or its queue dropped frames) since the
// last call.
func (p *Peer) TakeKeyFrameRequest() bool { return p.video.keyRequested.Swap(false) }

// SetPadding implements the room's link interface: send bps of padding
// on the video stream on top of the media (0 stops), to probe whether the
// link carries more.
func (p *Peer) SetPadding(bps int) {
	if p.video.out == nil {
		return
	}
	if old := p.video.padBps.Swap(int64(max(bps, 0))); old == 0 && bps > 0 {
		select {
		case p.video.padWake <- struct{}{}:
		default:
		}
	}
}

// sendPadding sends one padInterval's worth of padding while no video
// waits in the pacer: a probe never delays media, and it pauses at the
// first sign of queueing. While no video flows (a paused receiver, a
// still canvas), the padding shares the link with audio alone and leaves
// in whole packets sized to the link (see padPacketSize), less often when
// the probe is small: a probe of 2 kb/s sent as a 5-byte packet every
// 20 ms put 40 kb/s of headers on a 60 kb/s link, whose queue then held
// the receiver's audio back for 150 ms at a time. While video flows, each
// tick's padding leaves at once, its last packet partial: the ladder's
// probe sizes and failure thresholds were tuned with that, and whole
// packets there were not measured against them.
func (p *Peer) sendPadding(now time.Time) {
	v := &p.video
	perTick := int(v.padBps.Load() * int64(padInterval) / int64(8*time.Second))
	size, budget := maxPadding, perTick
	if now.Sub(v.lastMedia) < padVideoIdle { // video flows
		v.padCredit = perTick
	} else {
		size = padPacketSize(p.link.estimate(now))
		// What a tick could not send waits for the next, but no more
		// than one packet's worth: a probe never bursts to catch up.
		v.padCredit = min(v.padCredit+perTick, max(perTick, size))
		budget = v.padCredit - v.padCredit%size // whole packets
	}
	v.paceMu.Lock()
	if !v.pace.idle() {
		budget, v.padCredit = 0, 0
	}
	v.pace.sent(budget, now)
	// The probe's padding counts in the rate the pacer keeps up with:
	// else the video queued behind it would hold back the next padding,
	// and the probe would never send what it tests.
	v.pace.arrived(budget, now)
	v.paceMu.Unlock()
	if budget > 0 {
		p.link.padded(now)
	}
	for budget > 0 {
		n := min(budget, size)
		sent, err := v.out.writePadding(byte(n))
		if err != nil && !p.closing.Load() {
			p.obs.debug("padding write failed", "err", err)
		}
		if !sent {
			v.padCredit = 0
			return // failed, or no media to pad after yet
		}
		budget -= n
		v.padCredit -= n
		p.obs.stats.paddingBytes.Add(uint64(n))
	}
}

// padPacketSize is the padding one probe packet carries on a link
// estimated at est b/s (0: unknown): as much as RTP allows, but on a
// narrow link no more than the link carries in padInterval with the
// headers, so that the audio packet behind it waits at most that long.
func padPacketSize(est int) int {
	if est <= 0 {
		return maxPadding
	}
	return min(maxPadding, max(minPadding, est/8*int(padInterval)/int(time.Second)-padOverhead))
}

// sendVideo packetizes queued frames (RFC 7741 for VP8, RFC 6184 mode 1
// for H.264) and sends them through the pacer, with probe padding while
// the room asks for it.
func (p *Peer) sendVideo() {
	defer p.wg.Done()
	defer p.contain("video sender")
	v := &p.video
	var payloader rtp.Payloader = &codecs.VP8Payloader{EnablePictureID: true}
	if strings.EqualFold(v.outMime, webrtc.MimeTypeH264) {
		payloader = &codecs.H264Payloader{}
	}
	var pad *time.Ticker
	var padC <-chan time.Time
	defer func() {
		if pad != nil {
			pad.Stop()
		}
	}()
	// release wakes the sender when the pacer lets the next packet go.
	release := time.NewTimer(time.Hour)
	release.Stop()
	defer release.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-v.padWake:
			if pad == nil {
				pad = time.NewTicker(padInterval)
				padC = pad.C
			}
		case now := <-padC:
			if v.padBps.Load() == 0 {
				pad.Stop()
				pad, padC, v.padCredit = nil, nil, 0
				continue
			}
			p.sendPadding(now)
		case pk := <-v.queue:
			p.queueFrame(payloader.Payload(maxVideoPayload, pk.data), pk)
			select {
			case v.free <- pk:
			default:
			}
		case <-release.C:
		}
		if wait := p.sendPaced(time.Now()); wait > 0 {
			release.Reset(wait)
		}
	}
}

// queueFrame hands one frame's payloads to the pacer at its current rate;
// a frame the pacer drops is counted, and the receiver needs a keyframe.
func (p *Peer) queueFrame(payloads [][]byte, pk *videoPacket) {
	v := &p.video
	now := time.Now()
	v.paceMu.Lock()
	if est := p.link.estimate(now); est > 0 {
		v.pace.setRate(int(pacingFactor * float64(est)))
	}
	v.pace.setLimit(p.link.floodLimit(now))
	ok := v.pace.push(payloads, pk.key, pk.ts, pk.at, now)
	pace, limit, queued := v.pace.pace(), v.pace.limit, v.pace.delay()
	v.paceMu.Unlock()
	if !ok {
		p.obs.stats.pacerDropped.Add(1)
		p.dropOut("outgoing video frame dropped: pacer queue full", "pace_bps", int(pace), "limit_bps", limit, "queued", queued)
		v.keyRequested.Store(true)
	}
}

// sendPaced sends what the pacer lets go at now and returns how long until
// the next packet may leave (0: nothing queued).
func (p *Peer) sendPaced(now time.Time) time.Duration {
	v := &p.video
	for {
		v.paceMu.Lock()
		pk, ok, wait := v.pace.next(now)
		v.paceMu.Unlock()
		if !ok {
			return wait
		}
		p.obs.stats.pacedPackets.Add(1)
		p.obs.stats.paceDelayNs.Add(uint64(max(0, now.Sub(pk.queuedAt))))
		if err := v.out.write(pk.payload, pk.ts, pk.marker, pk.at); err != nil && !p.closing.Load() {
			p.obs.debug("video write failed", "err", err)
		}
		v.lastMedia = now
	}
}
