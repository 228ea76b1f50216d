package transport

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/transport/jitter"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// senderReportInterval is how often each outgoing stream sends an RTCP
// sender report (RFC 3550 suggests ~5 s minimum for large sessions; browsers
// lip-sync faster with 1 s).
const senderReportInterval = time.Second

// maxRTPPayload sizes the read buffers for incoming RTP and RTCP (one MTU).
const maxRTPPayload = 1500

// ErrPeerClosed is returned by writes after the peer closed.
var ErrPeerClosed = errors.New("transport: peer closed")

// Peer is one participant's PeerConnection. The room's clock goroutine
// calls ReadAudio and WriteAudio; pion's goroutines feed the playout buffer.
type Peer struct {
	pc  *webrtc.PeerConnection
	log *slog.Logger

	jbMu sync.Mutex
	jb   *jitter.Buffer
	ssrc uint32 // of the incoming audio stream, for resets on change

	out     *webrtc.TrackLocalStaticRTP // nil when the client receives no audio
	outSSRC uint32
	seq     uint16

	srMu    sync.Mutex
	packets uint32
	octets  uint32
	lastTS  uint32
	lastAt  time.Time
	sent    bool

	gone     func() // called once when the connection fails or closes by itself
	goneOnce sync.Once

	// Lifecycle: workers register under lifeMu so that none starts after
	// Close began waiting for them.
	lifeMu  sync.Mutex
	closed  bool
	closing atomic.Bool // lock-free view of closed for hot paths
	stop    chan struct{}
	wg      sync.WaitGroup

	badRTP atomic.Uint64 // incoming packets that did not parse as RTP
}

func newPeer(pc *webrtc.PeerConnection, jb *jitter.Buffer, log *slog.Logger) *Peer {
	p := &Peer{pc: pc, jb: jb, log: log, stop: make(chan struct{})}
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		log.Debug("connection state", "state", s.String())
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			p.fireGone()
		}
	})
	return p
}

// setGone installs the callback run once when the connection dies on its
// own (not when we Close it). If it already died, f runs now.
func (p *Peer) setGone(f func()) {
	p.jbMu.Lock()
	p.gone = f
	p.jbMu.Unlock()
	switch p.pc.ConnectionState() {
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		p.fireGone()
	}
}

func (p *Peer) fireGone() {
	if p.closing.Load() {
		return
	}
	p.jbMu.Lock()
	f := p.gone
	p.jbMu.Unlock()
	if f != nil {
		p.goneOnce.Do(f)
	}
}

// attachAudioOut adds our outgoing audio track to the connection.
func (p *Peer) attachAudioOut() error {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "mcu-mix")
	if err != nil {
		return err
	}
	sender, err := p.pc.AddTrack(track)
	if err != nil {
		return err
	}
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		p.outSSRC = uint32(enc[0].SSRC)
	}
	p.out = track
	if p.startWorker() {
		go p.readRTCP(sender)
	}
	if p.startWorker() {
		go p.sendReports()
	}
	return nil
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

// readRTCP drains RTCP from the receiver of our audio so that pion's
// interceptors (NACK responder, TWCC) see it.
func (p *Peer) readRTCP(sender *webrtc.RTPSender) {
	defer p.wg.Done()
	buf := make([]byte, maxRTPPayload)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// onTrack runs on pion's goroutine for each incoming track: the first audio
// track feeds the playout buffer; anything else is drained and ignored.
func (p *Peer) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if !p.startWorker() {
		return
	}
	defer p.wg.Done()
	if track.Kind() != webrtc.RTPCodecTypeAudio {
		p.log.Debug("ignoring track", "kind", track.Kind().String())
		drain(track)
		return
	}
	var pkt rtp.Packet
	buf := make([]byte, maxRTPPayload)
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			p.badRTP.Add(1)
			continue
		}
		p.push(&pkt, time.Now())
	}
}

func drain(track *webrtc.TrackRemote) {
	buf := make([]byte, maxRTPPayload)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
	}
}

func (p *Peer) push(pkt *rtp.Packet, now time.Time) {
	p.jbMu.Lock()
	defer p.jbMu.Unlock()
	if pkt.SSRC != p.ssrc {
		// A new stream (first packet, or the sender restarted): its
		// sequence numbers have nothing to do with the old ones.
		p.jb.Reset()
		p.ssrc = pkt.SSRC
	}
	p.jb.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, now)
}

// ReadAudio implements room.Peer. The payloads stay valid after the lock is
// released: the playout buffer keeps them until the next Pop, which only
// this method's single caller makes, and Push never touches them.
func (p *Peer) ReadAudio(now time.Time) media.EncodedAudio {
	p.jbMu.Lock()
	r := p.jb.Pop(now)
	p.jbMu.Unlock()
	switch r.Status {
	case jitter.Packet:
		return media.EncodedAudio{Status: media.PacketOK, Payload: r.Payload}
	case jitter.Lost:
		return media.EncodedAudio{Status: media.PacketLost, Next: r.Next}
	}
	return media.EncodedAudio{Status: media.PacketEmpty}
}

// WriteAudio implements room.Peer: one RTP packet with the room-clock
// timestamp; at is remembered for the sender reports.
func (p *Peer) WriteAudio(payload []byte, ts uint32, at time.Time) error {
	if p.out == nil {
		return nil
	}
	if p.closing.Load() {
		return ErrPeerClosed
	}
	p.seq++
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seq, Timestamp: ts}, Payload: payload}
	if err := p.out.WriteRTP(&pkt); err != nil {
		return err
	}
	p.srMu.Lock()
	p.packets++
	p.octets += uint32(len(payload))
	p.lastTS, p.lastAt, p.sent = ts, at, true
	p.srMu.Unlock()
	return nil
}

// sendReports sends an RTCP sender report for the outgoing audio every
// senderReportInterval. The RTP time is extrapolated from the last packet's
// room-clock time, so NTP↔RTP is the room clock's mapping, not the jittery
// moment of sending.
func (p *Peer) sendReports() {
	defer p.wg.Done()
	t := time.NewTicker(senderReportInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.srMu.Lock()
			if !p.sent {
				p.srMu.Unlock()
				continue
			}
			elapsed := now.Sub(p.lastAt)
			sr := &rtcp.SenderReport{
				SSRC:        p.outSSRC,
				NTPTime:     ntpTime(now),
				RTPTime:     p.lastTS + uint32(elapsed.Seconds()*48000),
				PacketCount: p.packets,
				OctetCount:  p.octets,
			}
			p.srMu.Unlock()
			if err := p.pc.WriteRTCP([]rtcp.Packet{sr}); err != nil && !p.closing.Load() {
				p.log.Debug("sender report failed", "err", err)
			}
		}
	}
}

// ntpTime converts t to the 64-bit NTP format (seconds since 1900 in the
// high word, binary fraction in the low word).
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// ReceiveStats counts incoming audio packets by playout-buffer verdict.
func (p *Peer) ReceiveStats() jitter.Stats {
	p.jbMu.Lock()
	defer p.jbMu.Unlock()
	return p.jb.Stats()
}

// Close implements room.Peer: it closes the connection and waits for the
// peer's goroutines. Idempotent.
func (p *Peer) Close() error {
	p.lifeMu.Lock()
	if p.closed {
		p.lifeMu.Unlock()
		return nil
	}
	p.closed = true
	p.closing.Store(true)
	p.lifeMu.Unlock()
	close(p.stop)
	err := p.pc.Close()
	p.wg.Wait()
	return err
}
