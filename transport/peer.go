package transport

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// senderReportInterval is how often each outgoing stream sends an RTCP
// sender report (browsers lip-sync sooner with 1 s than with RFC 3550's 5 s).
const senderReportInterval = time.Second

// maxRTPPayload sizes the read buffers for incoming RTP and RTCP (one MTU).
const maxRTPPayload = 1500

// Peer is one participant's PeerConnection. It satisfies room.Peer and
// room.VideoPeer: the room's clock goroutines call ReadAudio, WriteAudio and
// WriteVideo; pion's goroutines feed the playout buffer and the video
// frame channel.
type Peer struct {
	pc  *webrtc.PeerConnection
	obs observer // the engine's counters and sampled log, and our logger

	audioIn  *audioIn
	audioOut *rtpOut // nil when the client receives no audio
	// red, when the receiver negotiated RED, wraps each audio frame
	// (red.go); redBuf is its reused payload. Only WriteAudio uses them.
	red    *redPacketizer
	redBuf []byte
	video  videoState
	screen videoInput // a screen share; frames is nil unless negotiated (screen.go)
	link   linkMonitor
	ice    iceSession

	// Lifecycle: workers register under lifeMu so that none starts after
	// Close began waiting for them.
	lifeMu  sync.Mutex
	closed  bool
	closing atomic.Bool // lock-free view of closed for hot paths
	stop    chan struct{}
	wg      sync.WaitGroup

	gone       goneFunc // called once when the connection fails, closes by itself or breaks; under lifeMu
	goneOnce   sync.Once
	closedHook func() // run once Close is done; under lifeMu

	// iceUp and up close once ICE, then ICE and DTLS, have connected.
	iceUp, up       chan struct{}
	iceOnce, upOnce sync.Once
}

// newPeer wraps a new connection, its incoming audio and its engine's
// observer.
func newPeer(pc *webrtc.PeerConnection, in *audioIn, obs observer) *Peer {
	p := &Peer{pc: pc, audioIn: in, obs: obs, stop: make(chan struct{}), iceUp: make(chan struct{}), up: make(chan struct{})}
	p.video.init()
	pc.OnTrack(p.onTrack)
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted {
			p.iceOnce.Do(func() { close(p.iceUp) })
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.obs.log.Debug("connection state", "state", s.String())
		switch s {
		case webrtc.PeerConnectionStateConnected:
			p.upOnce.Do(func() { close(p.up) })
			// Media written before DTLS completed went nowhere: the
			// receiver needs a keyframe to start from.
			p.video.keyRequested.Store(true)
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			p.fireGone(nil)
		}
	})
	return p
}

// setGone installs the callback run once when the connection dies on its
// own (not when we Close it). If it already died, f runs now.
func (p *Peer) setGone(f goneFunc) {
	p.lifeMu.Lock()
	p.gone = f
	p.lifeMu.Unlock()
	switch p.pc.ConnectionState() {
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		p.fireGone(nil)
	}
}

// onClose installs f to run once the peer is closed; if it already is,
// f runs now.
func (p *Peer) onClose(f func()) {
	p.lifeMu.Lock()
	if !p.closed {
		p.closedHook = f
		f = nil
	}
	p.lifeMu.Unlock()
	if f != nil {
		f()
	}
}

// fireGone tells the gone callback, once, that the connection ended (cause
// nil) or broke (cause: what panicked).
func (p *Peer) fireGone(cause error) {
	if p.closing.Load() {
		return
	}
	p.lifeMu.Lock()
	f := p.gone
	p.lifeMu.Unlock()
	if f != nil {
		p.goneOnce.Do(func() { f(cause) })
	}
}

// startWorker registers a goroutine that Close must wait for; false once
// the peer is closing.
func (p *Peer) startWorker() bool {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// attachAudioOut adds our outgoing audio (the room's mix) to the
// connection: RED over Opus when red (the receiver offered it), else Opus.
func (p *Peer) attachAudioOut(red bool) error {
	c := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if red {
		c = redCapability
	}
	s, sender, err := p.newOutStream(c, "audio")
	if err != nil {
		return err
	}
	p.audioOut = s
	if red {
		p.red = &redPacketizer{pt: opusPayloadType}
	}
	if p.startWorker() {
		go p.readRTCP(sender, false)
	}
	return nil
}

// startReports starts the sender-report loop once the outgoing streams are
// attached.
func (p *Peer) startReports() {
	if (p.audioOut != nil || p.video.out != nil) && p.startWorker() {
		go p.sendReports()
	}
}

// maxRTCPErrors ends an RTCP reader after this many failed reads in a row;
// single failures (a malformed packet the interceptors reject) are skipped.
const maxRTCPErrors = 100

// readRTCP drains RTCP from the receiver of one of our streams so that
// pion's interceptors (NACK responder, congestion control) see it, feeds
// the link monitor, and on the video stream notes keyframe requests.
func (p *Peer) readRTCP(sender *webrtc.RTPSender, video bool) {
	defer p.wg.Done()
	defer p.contain("RTCP reader")
	buf := make([]byte, maxRTPPayload)
	for fails := 0; fails < maxRTCPErrors; {
		n, _, err := sender.Read(buf)
		if err != nil {
			if p.closing.Load() || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return
			}
			fails++
			continue
		}
		fails = 0
		p.handleRTCP(buf[:n], video, time.Now())
	}
}

// handleRTCP takes one compound RTCP packet a receiver sent about our
// audio or (video) our video stream at now: feedback for the link
// monitor, and on video keyframe requests.
func (p *Peer) handleRTCP(b []byte, video bool, now time.Time) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	p.link.onRTCP(pkts, p.audioOut.ssrcOrZero(), p.video.out.ssrcOrZero(), now)
	if !video {
		return
	}
	for _, pkt := range pkts {
		switch pkt.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			p.video.keyRequested.Store(true)
		}
	}
}

// Link implements the room's link interface: what we know of the path
// toward this receiver.
func (p *Peer) Link() media.LinkSample { return p.link.sample(time.Now()) }

// onTrack runs on pion's goroutine for each incoming track: the first audio
// track feeds the playout buffer, video feeds the frame channel.
func (p *Peer) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	if !p.startWorker() {
		return
	}
	defer p.wg.Done()
	defer p.contain("media reader")
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		p.readVideoTrack(track, receiver)
		return
	}
	var pkt rtp.Packet
	buf := make([]byte, maxRTPPayload)
	redPT, red := redPayloadTypeOf(receiver)
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if !p.audioIn.parse(&pkt, buf[:n]) {
			continue
		}
		if red && pkt.PayloadType == redPT {
			primary, ok := redPrimary(pkt.Payload)
			if !ok {
				p.audioIn.badRTP(errBadRED)
				continue
			}
			pkt.Payload = primary
		}
		p.audioIn.push(&pkt, time.Now())
	}
}

// ReadAudio implements room.Peer.
func (p *Peer) ReadAudio(now time.Time) media.EncodedAudio { return p.audioIn.ReadAudio(now) }

// WriteAudio implements room.Peer: one RTP packet with the room-clock
// timestamp.
func (p *Peer) WriteAudio(payload []byte, ts uint32, at time.Time) error {
	if p.audioOut == nil {
		return nil
	}
	if p.closing.Load() {
		return ErrPeerClosed
	}
	if p.red != nil {
		redundant := p.link.audioLossAbove(redLoss, time.Now())
		var withPrev bool
		p.redBuf, withPrev = p.red.packetize(p.redBuf[:0], payload, ts, redundant)
		payload = p.redBuf
		p.obs.stats.redPackets.Add(1)
		if withPrev {
			p.obs.stats.redRedundant.Add(1)
		}
	}
	if err := p.audioOut.write(payload, ts, false, at); err != nil {
		return err
	}
	if p.video.out != nil {
		p.video.paced(len(payload), time.Now())
	}
	return nil
}

// sendReports sends an RTCP sender report for each outgoing stream every
// senderReportInterval.
func (p *Peer) sendReports() {
	defer p.wg.Done()
	defer p.contain("sender reports")
	t := time.NewTicker(senderReportInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			var pkts []rtcp.Packet
			for _, s := range []*rtpOut{p.audioOut, p.video.out} {
				if s == nil {
					continue
				}
				if sr, ok := s.report(now); ok {
					pkts = append(pkts, sr)
				}
			}
			if len(pkts) == 0 {
				continue
			}
			p.link.sentReport(pkts[0].(*rtcp.SenderReport).NTPTime, now)
			if err := p.pc.WriteRTCP(pkts); err != nil && !p.closing.Load() {
				p.obs.debug("sender report failed", "err", err)
			}
		}
	}
}

// Close implements room.Peer: it closes the connection, waits for the
// peer's goroutines and then closes the video frame channel. Idempotent.
func (p *Peer) Close() error {
	p.lifeMu.Lock()
	if p.closed {
		p.lifeMu.Unlock()
		return nil
	}
	p.closed = true
	p.closing.Store(true)
	hook := p.closedHook
	p.lifeMu.Unlock()
	close(p.stop)
	err := p.pc.Close()
	p.wg.Wait()
	close(p.video.frames) // its only sender, readVideo, has returned
	if p.screen.frames != nil {
		close(p.screen.frames)
	}
	if hook != nil {
		hook()
	}
	return err
}
