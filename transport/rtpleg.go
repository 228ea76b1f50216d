package transport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const (
	// defaultLegIdleTimeout removes a plain-RTP leg that sends nothing this
	// long.
	defaultLegIdleTimeout = 30 * time.Second
	// legReportInterval spaces the leg's RTCP sender reports (RFC 3550's
	// 5 s minimum).
	legReportInterval = 5 * time.Second
	// legFeedbackFresh is how long a receiver report from the leg's remote
	// end counts: it reports at the same 5 s minimum, randomised up to
	// 1.5×, so this spans two reports.
	legFeedbackFresh = 3 * legReportInterval
	// telephoneEventPT is the payload type we accept RFC 4733 events on
	// (the common choice of SIP gateways).
	telephoneEventPT = 101
)

// legCodec is an audio codec a plain-RTP leg can carry.
type legCodec struct {
	mime      string
	pt        uint8
	clockRate int
}

var legCodecs = map[string]legCodec{
	"PCMU": {"audio/PCMU", 0, 8000},
	"PCMA": {"audio/PCMA", 8, 8000},
	"OPUS": {"audio/opus", opusPayloadType, 48000},
}

// RTPLeg is a plain-RTP audio participant (a phone behind a SIP gateway,
// any RTP device): no ICE, DTLS or SRTP. It latches to the address packets
// actually come from (symmetric RTP), multiplexes RTCP on the same port
// (RFC 5761), reports DTMF (RFC 4733) and ends after legIdleTimeout without
// packets (30 s by default). It satisfies room.Peer, and room.LinkReporter
// from the receiver reports its remote end sends (loss and RTT, for the
// room's in-band FEC).
type RTPLeg struct {
	conn   *net.UDPConn
	codec  legCodec
	idle   time.Duration
	obs    observer
	remote atomic.Pointer[net.UDPAddr] // latched: where packets come from

	audioIn *audioIn
	out     *rtpOut // written only by the room's audio clock (WriteAudio)

	link        linkMonitor
	lastRecv    atomic.Int64
	dtmfMu      sync.Mutex
	dtmf        []byte
	lastEventTS uint32
	haveEvent   bool
	gone        func()
	goneOnce    sync.Once
	stop        chan struct{}
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

// newRTPLeg validates the request and opens the leg's socket.
func (e *Engine) newRTPLeg(remote, codecName string) (*RTPLeg, string, error) {
	c, ok := legCodecs[strings.ToUpper(codecName)]
	if !ok {
		return nil, "", fmt.Errorf("%w: unknown codec %q (PCMU, PCMA or opus)", ErrBadLeg, codecName)
	}
	ap, err := netip.ParseAddrPort(remote)
	if err != nil || ap.Port() == 0 || ap.Addr().IsUnspecified() {
		return nil, "", fmt.Errorf("%w: remote %q is not an IP:port", ErrBadLeg, remote)
	}
	raddr := net.UDPAddrFromAddrPort(ap)
	conn, err := e.listenLeg(raddr)
	if err != nil {
		return nil, "", err
	}
	obs := e.observer(e.log.With("leg", conn.LocalAddr().String()))
	cfg := e.cfg.Jitter
	cfg.ClockRate = c.clockRate
	in, err := newAudioIn(cfg, obs)
	if err != nil {
		conn.Close()
		return nil, "", err
	}
	l := &RTPLeg{conn: conn, codec: c, idle: e.cfg.LegIdleTimeout, obs: obs, audioIn: in, stop: make(chan struct{})}
	l.out = newRTPOut(sinkFunc(l.sendRTP), rand.Uint32(), c.pt, c.clockRate, &l.link.sent)
	l.link.fresh = legFeedbackFresh
	l.remote.Store(raddr)
	l.lastRecv.Store(time.Now().UnixNano())
	return l, e.advertised(conn, raddr), nil
}

// listenLeg opens the leg's UDP socket, within the configured port range
// when there is one.
func (e *Engine) listenLeg(remote *net.UDPAddr) (*net.UDPConn, error) {
	network := "udp4"
	if remote.IP.To4() == nil {
		network = "udp6"
	}
	lo, hi := int(e.cfg.UDPPortMin), int(e.cfg.UDPPortMax)
	if lo == 0 {
		return net.ListenUDP(network, &net.UDPAddr{})
	}
	start := lo + rand.IntN(hi-lo+1)
	for i := range hi - lo + 1 {
		port := lo + (start-lo+i)%(hi-lo+1)
		if c, err := net.ListenUDP(network, &net.UDPAddr{Port: port}); err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("no free UDP port in %d-%d", lo, hi)
}

// advertised is the host:port the remote should send to: the public IP
// when one is configured, else the local address that routes to remote.
func (e *Engine) advertised(conn *net.UDPConn, remote *net.UDPAddr) string {
	port := conn.LocalAddr().(*net.UDPAddr).Port
	if len(e.cfg.PublicIPs) > 0 {
		return net.JoinHostPort(e.cfg.PublicIPs[0], fmt.Sprint(port))
	}
	ip := net.IPv4zero
	if probe, err := net.DialUDP("udp", nil, remote); err == nil {
		ip = probe.LocalAddr().(*net.UDPAddr).IP
		probe.Close()
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(port))
}

// start runs the leg's goroutines; gone is called once when the leg dies
// on its own (idle, or the remote said BYE).
func (l *RTPLeg) start(gone func()) {
	l.gone = gone
	l.wg.Add(2)
	go l.read()
	go l.watch()
}

// fireGone runs the gone callback once, on its own goroutine: the callback
// removes the leg, which closes it and waits for the goroutine that noticed
// the end — so it cannot run on that goroutine. It is bounded by that one
// call.
func (l *RTPLeg) fireGone(reason string) {
	l.goneOnce.Do(func() {
		l.obs.log.Info("RTP leg ended", "reason", reason)
		if l.gone != nil {
			go l.gone()
		}
	})
}

// read receives RTP and RTCP on the one socket.
func (l *RTPLeg) read() {
	defer l.wg.Done()
	buf := make([]byte, maxRTPPayload)
	var pkt rtp.Packet
	for {
		n, from, err := l.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 2 || buf[0]>>6 != 2 {
			l.audioIn.badRTP(errNotRTP)
			continue
		}
		if pt := buf[1] & 0x7f; pt >= 64 && pt <= 95 { // RTCP (RFC 5761 §4)
			l.readRTCP(buf[:n])
			continue
		}
		if !l.audioIn.parse(&pkt, buf[:n]) {
			continue
		}
		l.remote.Store(from) // symmetric RTP: answer where packets come from
		l.lastRecv.Store(time.Now().UnixNano())
		switch pkt.PayloadType {
		case l.codec.pt:
			l.audioIn.push(&pkt, time.Now())
		case telephoneEventPT:
			l.telephoneEvent(pkt.Timestamp, pkt.Payload)
		}
	}
}

func (l *RTPLeg) readRTCP(b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, p := range pkts {
		if _, ok := p.(*rtcp.Goodbye); ok {
			l.fireGone("RTCP BYE")
		}
	}
	l.link.onRTCP(pkts, l.out.ssrc, 0, time.Now())
}

// Link implements room.LinkReporter: the loss and RTT the remote end's
// receiver reports show, and what we sent it.
func (l *RTPLeg) Link() media.LinkSample { return l.link.sample(time.Now()) }

// dtmfDigits maps RFC 4733 event codes 0-15 to their keys.
const dtmfDigits = "0123456789*#ABCD"

// telephoneEvent records a DTMF key once per event: senders repeat the
// packet (same timestamp) while the key is held and three times at its end.
func (l *RTPLeg) telephoneEvent(ts uint32, payload []byte) {
	if len(payload) < 4 || int(payload[0]) >= len(dtmfDigits) {
		return
	}
	l.dtmfMu.Lock()
	defer l.dtmfMu.Unlock()
	if l.haveEvent && ts == l.lastEventTS {
		return
	}
	l.haveEvent, l.lastEventTS = true, ts
	if len(l.dtmf) < 64 {
		l.dtmf = append(l.dtmf, dtmfDigits[payload[0]])
	}
}

// TakeDTMF implements room.DTMFPeer: the keys pressed since the last call.
func (l *RTPLeg) TakeDTMF(dst []byte) []byte {
	l.dtmfMu.Lock()
	defer l.dtmfMu.Unlock()
	dst = append(dst, l.dtmf...)
	l.dtmf = l.dtmf[:0]
	return dst
}

// watch ends an idle leg and sends sender reports.
func (l *RTPLeg) watch() {
	defer l.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var sinceReport time.Duration
	for {
		select {
		case <-l.stop:
			return
		case now := <-tick.C:
			if now.Sub(time.Unix(0, l.lastRecv.Load())) > l.idle {
				l.fireGone("no packets")
			}
			if sinceReport += time.Second; sinceReport >= legReportInterval {
				sinceReport = 0
				l.sendReport(now)
			}
		}
	}
}

// sendReport sends the sender report for now to the latched address.
func (l *RTPLeg) sendReport(now time.Time) {
	sr, ok := l.out.report(now)
	if !ok {
		return
	}
	b, err := sr.Marshal()
	if err == nil {
		_, err = l.conn.WriteToUDP(b, l.remote.Load())
	}
	if err != nil {
		l.obs.debug("sender report failed", "err", err)
		return
	}
	l.link.sentReport(sr.NTPTime, now)
}

// ReadAudio implements room.Peer.
func (l *RTPLeg) ReadAudio(now time.Time) media.EncodedAudio { return l.audioIn.ReadAudio(now) }

// WriteAudio implements room.Peer: one RTP packet to the latched address.
func (l *RTPLeg) WriteAudio(payload []byte, ts uint32, at time.Time) error {
	return l.out.write(payload, ts, false, at)
}

// sendRTP is the leg's rtpSink: plain RTP to the latched address, on the
// port RTCP shares (RFC 5761).
func (l *RTPLeg) sendRTP(pkt *rtp.Packet) error {
	var b [12 + maxRTPPayload]byte
	n, err := pkt.MarshalTo(b[:])
	if err != nil {
		return err
	}
	_, err = l.conn.WriteToUDP(b[:n], l.remote.Load())
	return err
}

// Close implements room.Peer: it sends RTCP BYE, closes the socket and
// waits for the leg's goroutines. Idempotent.
func (l *RTPLeg) Close() error {
	var err error
	l.closeOnce.Do(func() {
		if b, e := (&rtcp.Goodbye{Sources: []uint32{l.out.ssrc}}).Marshal(); e == nil {
			_, _ = l.conn.WriteToUDP(b, l.remote.Load())
		}
		close(l.stop)
		err = l.conn.Close()
		l.wg.Wait()
	})
	return err
}
