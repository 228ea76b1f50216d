package transport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
// any RTP device): no ICE, DTLS or SRTP. It latches to the port packets
// from its remote's IP actually come from (symmetric RTP; any allowed
// address with Config.LegLatchAny), multiplexes RTCP on the same port
// (RFC 5761), reports DTMF (RFC 4733) and ends after legIdleTimeout without
// packets (30 s by default). It satisfies room.Peer, and room.LinkReporter
// from the receiver reports its remote end sends (loss and RTT, for the
// room's in-band FEC).
type RTPLeg struct {
	conn   *net.UDPConn
	codec  legCodec
	idle   time.Duration
	obs    observer
	remote atomic.Pointer[netip.AddrPort] // latched: where packets come from

	// Latching: packets count only from peerIP, or with latchAny from any
	// address policy allows; others are dropped.
	peerIP   netip.Addr
	latchAny bool
	policy   legPolicy

	audioIn *audioIn
	out     *rtpOut    // written only by the room's audio clock (WriteAudio)
	pkt     rtp.Packet // handleDatagram's, reused

	// Reading (legread.go): the socket's raw access, the buffers of one
	// datagram and its control messages, and the tick last drained for,
	// under readMu.
	readMu    sync.Mutex
	raw       syscall.RawConn
	rbuf, oob []byte
	drained   time.Time

	link        linkMonitor
	lastRecv    atomic.Int64
	dtmfMu      sync.Mutex
	dtmf        []byte
	lastEventTS uint32
	haveEvent   bool
	gone        goneFunc
	goneOnce    sync.Once
	started     atomic.Bool
	stop        chan struct{}
	wg          sync.WaitGroup
	closeOnce   sync.Once
	unbook      func() // forgets the leg in its engine's book
}

// newRTPLeg validates the request, opens the leg's socket and books it
// in room.
func (e *Engine) newRTPLeg(room media.RoomID, remote, codecName string) (*RTPLeg, string, error) {
	c, ok := legCodecs[strings.ToUpper(codecName)]
	if !ok {
		return nil, "", fmt.Errorf("%w: unknown codec %q (PCMU, PCMA or opus)", ErrBadLeg, codecName)
	}
	ap, err := netip.ParseAddrPort(remote)
	if err != nil || ap.Port() == 0 {
		return nil, "", fmt.Errorf("%w: remote %q is not an IP:port", ErrBadLeg, remote)
	}
	// An IPv4-mapped address is the IPv4 host: the policy and the socket
	// see it as such.
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if err := e.legPolicy.check(ap); err != nil {
		return nil, "", err
	}
	conn, entry, err := e.bookLeg(room, ap, e.isHostAddr(ap.Addr()))
	if err != nil {
		return nil, "", err
	}
	l, err := e.legState(conn.LocalAddr().String(), c, ap)
	if err == nil {
		l.conn = conn
		err = l.prepareRead()
	}
	if err != nil {
		conn.Close()
		e.unbookLeg(entry)
		return nil, "", err
	}
	l.unbook = func() { e.unbookLeg(entry) }
	return l, entry.advertised.String(), nil
}

// legState is a leg toward remote in codec c, named local in logs, as
// far as it needs no socket: all handleDatagram touches.
func (e *Engine) legState(local string, c legCodec, remote netip.AddrPort) (*RTPLeg, error) {
	obs := e.observer(e.log.With("leg", local))
	cfg := e.cfg.Jitter
	cfg.ClockRate = c.clockRate
	in, err := newAudioIn(cfg, obs)
	if err != nil {
		return nil, err
	}
	l := &RTPLeg{
		codec: c, idle: e.cfg.LegIdleTimeout, obs: obs, audioIn: in, stop: make(chan struct{}),
		peerIP: remote.Addr(), latchAny: e.cfg.LegLatchAny, policy: e.legPolicy,
	}
	l.out = newRTPOut(sinkFunc(l.sendRTP), rand.Uint32(), c.pt, c.clockRate, &l.link.sent)
	l.link.fresh = legFeedbackFresh
	l.remote.Store(&remote)
	l.lastRecv.Store(time.Now().UnixNano())
	return l, nil
}

// ephemeralTries bounds how many kernel-chosen ports a leg tries when
// the ones offered are ports live legs send to.
const ephemeralTries = 4

// listenLeg opens a leg's UDP socket for remote, within the configured
// port range when there is one, on a port taken reports free of loops.
func (e *Engine) listenLeg(remote netip.AddrPort, taken func(port uint16) bool) (*net.UDPConn, error) {
	network := "udp4"
	if remote.Addr().Is6() {
		network = "udp6"
	}
	lo, hi := int(e.cfg.UDPPortMin), int(e.cfg.UDPPortMax)
	tries, start := ephemeralTries, 0
	if lo != 0 {
		tries, start = hi-lo+1, rand.IntN(hi-lo+1)
	}
	// Taken ports stay bound until we are done, so the kernel offers
	// others.
	var held []*net.UDPConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range tries {
		port := 0
		if lo != 0 {
			port = lo + (start+i)%tries
		}
		c, err := net.ListenUDP(network, &net.UDPAddr{Port: port})
		if err != nil {
			if lo == 0 {
				return nil, err
			}
			continue
		}
		if taken(uint16(c.LocalAddr().(*net.UDPAddr).Port)) {
			held = append(held, c)
			continue
		}
		return c, nil
	}
	if lo == 0 {
		return nil, fmt.Errorf("no free UDP port in %d tries", tries)
	}
	return nil, fmt.Errorf("no free UDP port in %d-%d", lo, hi)
}

// advertised is the address the remote should send to: the public IP
// when one is configured, else the local address that routes to remote.
func (e *Engine) advertised(conn *net.UDPConn, remote netip.AddrPort) netip.AddrPort {
	port := uint16(conn.LocalAddr().(*net.UDPAddr).Port)
	if len(e.cfg.PublicIPs) > 0 {
		if ip, err := netip.ParseAddr(e.cfg.PublicIPs[0]); err == nil {
			return netip.AddrPortFrom(ip, port)
		}
	}
	ip := netip.IPv4Unspecified()
	if probe, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(remote)); err == nil {
		ip = probe.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
		probe.Close()
	}
	return netip.AddrPortFrom(ip, port)
}

// start runs the leg's goroutines; gone is called once when the leg dies
// on its own (idle, or the remote said BYE) or breaks.
func (l *RTPLeg) start(gone goneFunc) {
	l.gone = gone
	l.started.Store(true)
	l.wg.Add(1)
	go l.watch()
}

// fireGone runs the gone callback once, on its own goroutine: the callback
// removes the leg, which closes it and waits for the goroutine that noticed
// the end — so it cannot run on that goroutine. It is bounded by that one
// call.
func (l *RTPLeg) fireGone(reason string, cause error) {
	l.goneOnce.Do(func() {
		l.obs.log.Info("RTP leg ended", "reason", reason)
		if l.gone != nil {
			go l.gone(cause)
		}
	})
}

// handleDatagram takes one datagram that arrived from from at now: RTP in
// the leg's codec, RFC 4733 events, or RTCP (RFC 5761 §4). What comes
// from an address the leg does not latch to is counted and dropped whole
// (its RTP, BYE, reports and keys): anyone can send to our port.
func (l *RTPLeg) handleDatagram(b []byte, from netip.AddrPort, now time.Time) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if !l.latchesTo(from.Addr()) {
		l.obs.stats.legForeign.Add(1)
		l.obs.debug("packet from a foreign address dropped", "from", from)
		return
	}
	if len(b) < 2 || b[0]>>6 != 2 {
		l.audioIn.badRTP(errNotRTP)
		return
	}
	if pt := b[1] & 0x7f; pt >= 64 && pt <= 95 {
		l.readRTCP(b, now)
		return
	}
	pkt := &l.pkt
	if !l.audioIn.parse(pkt, b) {
		return
	}
	if *l.remote.Load() != from {
		l.remote.Store(new(from)) // symmetric RTP: answer where packets come from
	}
	l.lastRecv.Store(now.UnixNano())
	switch pkt.PayloadType {
	case l.codec.pt:
		l.audioIn.push(pkt, now)
	case telephoneEventPT:
		l.telephoneEvent(pkt.Timestamp, pkt.Payload)
	}
}

// latchesTo reports whether packets from ip count: the remote's own IP
// (any port: gateways often send from another port than they receive
// on), or with latchAny any address the policy lets the leg send to — a
// forged source must not aim the leg anywhere a request could not.
func (l *RTPLeg) latchesTo(ip netip.Addr) bool {
	if l.latchAny {
		return l.policy.refusal(ip) == ""
	}
	return ip == l.peerIP
}

func (l *RTPLeg) readRTCP(b []byte, now time.Time) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, p := range pkts {
		if _, ok := p.(*rtcp.Goodbye); ok {
			l.fireGone("RTCP BYE", nil)
		}
	}
	l.link.onRTCP(pkts, l.out.ssrc, 0, now)
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

// watch takes what arrived on a leg the room does not pull (yet), ends
// an idle leg and sends sender reports.
func (l *RTPLeg) watch() {
	defer l.wg.Done()
	defer l.contain("watcher")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var sinceReport time.Duration
	for {
		select {
		case <-l.stop:
			return
		case now := <-tick.C:
			l.receive(now) // what a leg the room does not pull yet sent
			if now.Sub(time.Unix(0, l.lastRecv.Load())) > l.idle {
				l.fireGone("no packets", nil)
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
		_, err = l.conn.WriteToUDPAddrPort(b, *l.remote.Load())
	}
	if err != nil {
		l.obs.debug("sender report failed", "err", err)
		return
	}
	l.link.sentReport(sr.NTPTime, now)
}

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
	_, err = l.conn.WriteToUDPAddrPort(b[:n], *l.remote.Load())
	return err
}

// Close implements room.Peer: it sends RTCP BYE if the leg started (a
// request that failed sends nothing), closes the socket, waits for the
// leg's goroutines and frees its place in the engine's book. Idempotent.
func (l *RTPLeg) Close() error {
	var err error
	l.closeOnce.Do(func() {
		if l.started.Load() {
			if b, e := (&rtcp.Goodbye{Sources: []uint32{l.out.ssrc}}).Marshal(); e == nil {
				_, _ = l.conn.WriteToUDPAddrPort(b, *l.remote.Load())
			}
		}
		close(l.stop)
		err = l.conn.Close()
		l.wg.Wait()
		l.unbook()
	})
	return err
}
