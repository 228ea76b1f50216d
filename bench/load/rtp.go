package load

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"github.com/mcu-project/mcu/bench/internal/proc"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// RunRTP is Run with every participant a plain-RTP audio leg instead of a
// WebRTC peer: no ICE, DTLS or SRTP, as Janus AudioBridge's participants
// join in bench/janusref, so the two CPU figures compare like with like.
//
// Each participant is a loopback UDP socket in this process, attached with
// POST /rooms/{room}/rtp (codec opus). One goroutine sends every
// participant's pre-encoded Opus (bench/internal/opusloop: 20 ms mono frames,
// payload type 111) on absolute 20 ms deadlines: talkers a voice around a
// tone of 200+37·i Hz peaking at min(8192, 32000/talkers), staggered
// (opusloop.Voice, opusloop.Staggered), listeners coded digital silence,
// so the mcu decodes everyone. Each socket counts the mix-minus RTP packets
// it gets back, decoding nothing, and sends RTCP receiver reports on them
// as a SIP gateway's media leg does: a first one half a second in, then
// every 5 s (RFC 3550's minimum interval). The mcu sets each leg's in-band
// FEC from them, as it does for WebRTC receivers.
//
// Plain-RTP legs attach to rooms but do not create them. When the room
// does not exist (404), RunRTP creates it with a throwaway WebRTC join
// (a receive-only audio offer that never connects), attaches the legs and
// then removes that participant before any leg sends: the legs keep the room alive, and only
// they are in it while the CPU is measured.
//
// Latency is not measured over plain RTP (o.Latency is an error), and legs
// carry no video (o.Video is an error). Everything started is stopped, every
// socket closed and every leg (DELETE) removed before RunRTP returns.
func RunRTP(ctx context.Context, o Options) (Result, error) {
	res := Result{N: o.N, Talkers: o.Talkers, Rooms: max(o.Rooms, 1)}
	if o.Talkers < 0 || o.Talkers > o.N {
		res.Talkers = o.N
	}
	switch {
	case o.N < 1:
		return res, errors.New("plain RTP: need at least one participant")
	case o.Latency:
		return res, errors.New("plain RTP: latency is measured over WebRTC only (use Run)")
	case o.Video != "":
		return res, errors.New("plain RTP legs are audio only")
	}

	codecs, err := legCodecs(o.AudioCodecs)
	if err != nil {
		return res, err
	}
	// Every stream is encoded before the first leg joins.
	amp := opusloop.ToneAmp(res.Talkers)
	cache := loops{}
	rooms := res.Rooms
	legs := make([]*rtpLeg, 0, rooms*o.N)
	for r := range rooms {
		for i := range o.N {
			lc := codecs[i%len(codecs)]
			l := &rtpLeg{room: r, index: i, codec: lc, stream: lc.stream(rand.Uint32(), uint16(rand.UintN(1<<16)), rand.Uint32())}
			sound, talker := Voice, i
			if i >= res.Talkers {
				sound, talker = Silence, 0 // a listener's microphone: one loop for all
			}
			if l.loop, err = cache.get(lc, sound, talker, amp); err != nil {
				return res, err
			}
			legs = append(legs, l)
		}
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	apis := make([]*legAPI, rooms)
	for r := range apis {
		apis[r] = &legAPI{hc: &http.Client{Transport: tr, Timeout: 20 * time.Second}, base: strings.TrimSuffix(o.URL, "/"), room: roomName(o.Room, r, rooms)}
	}

	// Teardown, in order: stop sending, leave, close the sockets, wait for
	// the readers. It runs on every return.
	stopSend := make(chan struct{})
	var sender, readers sync.WaitGroup
	anchors := make([]string, rooms) // per room, the participant that created it, until it leaves
	defer func() {
		close(stopSend)
		sender.Wait()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for r, id := range anchors {
			if id != "" {
				_ = apis[r].leave(cctx, id)
			}
		}
		for _, l := range legs {
			if l.id != "" {
				_ = apis[l.room].leave(cctx, l.id)
			}
			if l.conn != nil {
				_ = l.conn.Close()
			}
		}
		readers.Wait()
	}()

	jctx, cancel := context.WithTimeout(ctx, 60*time.Second+time.Duration(len(legs))*20*time.Millisecond)
	defer cancel()
	for _, l := range legs {
		if l.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			return res, err
		}
		_ = l.conn.SetReadBuffer(1 << 20)
		readers.Add(1)
		go l.receive(&readers)
		api, name := apis[l.room], fmt.Sprintf("rtp%d", l.index)
		err := api.join(jctx, l, name)
		if errors.Is(err, errNoRoom) && anchors[l.room] == "" {
			if anchors[l.room], err = api.createRoom(jctx); err == nil {
				err = api.join(jctx, l, name)
			}
		}
		if err != nil {
			return res, fmt.Errorf("%s participant %d: %w", api.room, l.index, err)
		}
	}
	for r, id := range anchors {
		if id == "" {
			continue
		}
		if err := apis[r].leave(jctx, id); err != nil {
			return res, fmt.Errorf("remove the participant that created room %s: %w", apis[r].room, err)
		}
		anchors[r] = ""
	}
	// Each room's legs send together, and the rooms' packet clocks are
	// spread evenly over the 20 ms frame: participants in different rooms
	// have clocks of their own. (Sent in lockstep, every room's clock
	// followed its speakers to the same phase and all rooms' ticks queued
	// behind each other at the same instant each frame: 18 five-person
	// rooms then missed their ticks with the mcu at 0.77 of 2 cores.)
	start := time.Now()
	for r := range rooms {
		sender.Add(1)
		go sendAll(legs[r*o.N:(r+1)*o.N], start.Add(time.Duration(r)*opusloop.FramePeriod/time.Duration(rooms)), stopSend, &sender)
	}

	// Every leg must hear the mix before we measure; then buffers and
	// codecs settle as in Run.
	for deadline := time.Now().Add(10 * time.Second); ; {
		waiting := -1
		for i, l := range legs {
			if l.received.Load() == 0 {
				waiting = i
				break
			}
		}
		if waiting < 0 {
			break
		}
		if time.Now().After(deadline) {
			l := legs[waiting]
			return res, fmt.Errorf("%s participant %d received nothing from the mcu within 10 s", apis[l.room].room, l.index)
		}
		if err := proc.Sleep(ctx, 50*time.Millisecond); err != nil {
			return res, err
		}
	}
	if err := proc.Sleep(ctx, time.Second); err != nil {
		return res, err
	}

	before := make([]int64, len(legs))
	for i, l := range legs {
		before[i] = l.received.Load()
		for m := range res.OpusModes {
			res.OpusModes[m] -= l.modes[m].Load()
		}
	}
	win, err := openWindow(ctx, o)
	if err != nil {
		return res, err
	}
	if err := proc.Sleep(ctx, o.D); err != nil {
		return res, err
	}
	if err := win.close(ctx, &res); err != nil {
		return res, err
	}
	res.AudioPPSMin = math.Inf(1)
	for i, l := range legs {
		for m := range res.OpusModes {
			res.OpusModes[m] += l.modes[m].Load()
		}
		res.AudioLossMax = max(res.AudioLossMax, l.lost())
		if hearsTalk(l.index, res.Talkers, false) {
			pps := float64(l.received.Load()-before[i]) / res.Duration.Seconds()
			res.AudioPPSMin, res.AudioPPSMax = min(res.AudioPPSMin, pps), max(res.AudioPPSMax, pps)
			res.AudioRated++
		}
	}
	if math.IsInf(res.AudioPPSMin, 1) {
		res.AudioPPSMin = 0
	}
	return res, nil
}

// rtpLeg is one plain-RTP participant: its socket, what it sends and what
// it has received.
type rtpLeg struct {
	room     int // which of the run's rooms
	index    int // its place in its room
	codec    legCodec
	conn     *net.UDPConn
	id       string       // participant ID at the mcu
	mcu      *net.UDPAddr // where the mcu wants this leg's RTP
	loop     [][]byte
	stream   opusloop.Stream
	received atomic.Int64 // RTP packets of its codec from the mcu
	// modes counts the Opus packets received by mode (opus.PacketMode).
	modes [3]atomic.Int64
	// What receiver reports need, written by receive: the mcu's SSRC and
	// the first and highest sequence numbers received, extended past wraps.
	ssrc           atomic.Uint32
	first, highest atomic.Int64
	// The counts at the previous report (sendAll only).
	reportedHighest, reportedReceived int64
}

// lost is the share of the mcu's packets that never arrived, since the
// first.
func (l *rtpLeg) lost() float64 {
	received := l.received.Load()
	if received == 0 {
		return 0
	}
	return lossShare(int(received), int(l.highest.Load()-l.first.Load()+1))
}

// report returns a receiver report on what the leg received since the
// previous one; false before anything arrived.
func (l *rtpLeg) report() (*rtcp.ReceiverReport, bool) {
	ssrc, highest, received := l.ssrc.Load(), l.highest.Load(), l.received.Load()
	if received == 0 {
		return nil, false
	}
	if l.reportedReceived == 0 {
		l.reportedHighest = highest - received // as if the stream began with the first packet
	}
	expected, got := highest-l.reportedHighest, received-l.reportedReceived
	l.reportedHighest, l.reportedReceived = highest, received
	var fraction uint8
	if lost := expected - got; expected > 0 && lost > 0 {
		fraction = uint8(min(lost*256/expected, 255))
	}
	return &rtcp.ReceiverReport{SSRC: l.stream.SSRC, Reports: []rtcp.ReceptionReport{{
		SSRC: ssrc, FractionLost: fraction, LastSequenceNumber: uint32(highest),
	}}}, true
}

// receive counts the RTP packets of the leg's codec the mcu sends (RTCP, multiplexed on
// the same port, is not counted) until the socket closes.
func (l *rtpLeg) receive(done *sync.WaitGroup) {
	defer done.Done()
	buf := make([]byte, 2048)
	for {
		n, _, err := l.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n > opusloop.HeaderLen && buf[0]>>6 == 2 && buf[1]&0x7f == l.codec.pt {
			seq := binary.BigEndian.Uint16(buf[2:])
			if l.received.Load() == 0 {
				l.ssrc.Store(binary.BigEndian.Uint32(buf[8:]))
				l.first.Store(int64(seq))
				l.highest.Store(int64(seq))
			} else if h := l.highest.Load(); int16(seq-uint16(h)) > 0 {
				l.highest.Store(h + int64(int16(seq-uint16(h))))
			}
			l.received.Add(1)
			if l.codec.pt == opusLeg.pt {
				l.modes[opus.PacketMode(buf[opusloop.HeaderLen])].Add(1)
			}
		}
	}
}

// Receiver reports go out reportFirst frames in, then every reportEvery.
const (
	reportFirst = 25
	reportEvery = 250
)

// sendAll sends packet k of every leg at start+k·20 ms until stop closes,
// and the legs' receiver reports. After a late wake-up the missed packets
// go out at once rather than being skipped, so no stream has holes (as
// bench/janusref's senders do).
func sendAll(legs []*rtpLeg, start time.Time, stop <-chan struct{}, done *sync.WaitGroup) {
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
		for _, l := range legs {
			n := l.stream.Packet(buf, k, l.loop[k%len(l.loop)])
			_, _ = l.conn.WriteToUDP(buf[:n], l.mcu)
			if k%reportEvery == reportFirst {
				if rr, ok := l.report(); ok {
					if b, err := rr.Marshal(); err == nil {
						_, _ = l.conn.WriteToUDP(b, l.mcu)
					}
				}
			}
		}
		timer.Reset(time.Until(start.Add(time.Duration(k+1) * opusloop.FramePeriod)))
	}
}

// errNoRoom: the room a leg asked for does not exist.
var errNoRoom = errors.New("no such room")

// legAPI is the mcu's HTTP API for one room.
type legAPI struct {
	hc         *http.Client
	base, room string
}

func (a *legAPI) roomURL() string { return a.base + "/rooms/" + url.PathEscape(a.room) }

// join attaches l to the room as an Opus leg and learns where the mcu
// wants its RTP.
func (a *legAPI) join(ctx context.Context, l *rtpLeg, name string) error {
	body, _ := json.Marshal(map[string]string{"remote": l.conn.LocalAddr().String(), "codec": l.codec.name, "name": name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.roomURL()+"/rtp", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusCreated:
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s", errNoRoom, strings.TrimSpace(string(raw)))
	default:
		return fmt.Errorf("POST %s/rtp: %s: %s", a.roomURL(), resp.Status, strings.TrimSpace(string(raw)))
	}
	var leg struct{ ID, Local string }
	if err := json.Unmarshal(raw, &leg); err != nil || leg.ID == "" {
		return fmt.Errorf("leg answer %q: %v", raw, err)
	}
	addr, err := net.ResolveUDPAddr("udp4", leg.Local)
	if err != nil {
		return fmt.Errorf("leg address %q: %w", leg.Local, err)
	}
	if addr.IP.IsUnspecified() {
		addr.IP = net.IPv4(127, 0, 0, 1)
	}
	l.id, l.mcu = leg.ID, addr
	return nil
}

// createRoom makes the room exist by joining a receive-only WebRTC
// participant: the offer is posted without candidates and never connects. It returns that participant's ID, for leave.
func (a *legAPI) createRoom(ctx context.Context) (string, error) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return "", err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.roomURL()+"/join?name=rtp-room-creator", strings.NewReader(offer.SDP))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := a.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create room with POST %s/join: %s: %s", a.roomURL(), resp.Status, strings.TrimSpace(string(raw)))
	}
	loc := resp.Header.Get("Location")
	i := strings.LastIndexByte(loc, '/')
	if i < 0 || i == len(loc)-1 {
		return "", fmt.Errorf("create room: join answer without a participant Location (%q)", loc)
	}
	id, err := url.PathUnescape(loc[i+1:])
	if err != nil {
		return "", fmt.Errorf("create room: Location %q: %w", loc, err)
	}
	return id, nil
}

// leave removes participant id (a leg or the room's creator).
func (a *legAPI) leave(ctx context.Context, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, a.roomURL()+"/participants/"+url.PathEscape(id), nil)
	if err != nil {
		return err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("DELETE participant %s: %s", id, resp.Status)
	}
	return nil
}
