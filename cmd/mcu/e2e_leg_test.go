package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/g711"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/transport"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"google.golang.org/grpc/codes"
)

// phone is a plain-RTP G.711 µ-law endpoint on a UDP socket, like a SIP
// gateway's media leg.
type phone struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []int16 // 8 kHz audio received
	done chan struct{}
}

func newPhone(t *testing.T) *phone {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{conn: c, done: make(chan struct{})}
	go p.receive()
	t.Cleanup(func() { c.Close(); <-p.done })
	return p
}

func (p *phone) receive() {
	defer close(p.done)
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return
		}
		if n < 2 || buf[1]&0x7f >= 64 && buf[1]&0x7f <= 95 || pkt.Unmarshal(buf[:n]) != nil || pkt.PayloadType != 0 {
			continue // RTCP, or not PCMU
		}
		p.mu.Lock()
		for _, b := range pkt.Payload {
			p.got = append(p.got, g711.DecodeULaw(b))
		}
		p.mu.Unlock()
	}
}

// last returns the last d of audio received.
func (p *phone) last(d time.Duration) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(d.Seconds() * 8000)
	if n > len(p.got) {
		n = len(p.got)
	}
	return append([]int16(nil), p.got[len(p.got)-n:]...)
}

// play sends a µ-law tone in 20 ms packets to dst until stop closes, and
// the given DTMF keys (RFC 4733, PT 101) once, after half a second.
func (p *phone) play(dst *net.UDPAddr, hz, amp float64, keys string, stop chan struct{}) {
	seq, ts := uint16(1), uint32(0)
	send := func(pt uint8, marker bool, timestamp uint32, payload []byte) {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: timestamp, SSRC: 0x1234, Marker: marker}, Payload: payload}
		seq++
		b, _ := pkt.Marshal()
		_, _ = p.conn.WriteToUDP(b, dst)
	}
	every20ms(stop, func(n int) {
		frame := make([]byte, 160)
		for i := range frame {
			frame[i] = g711.EncodeULaw(int16(amp * math.Sin(2*math.Pi*hz*float64(int(ts)+i)/8000)))
		}
		send(0, n == 0, ts, frame)
		if n == 25 {
			// Each key: three packets while held, the end packet three
			// times, all with the key's start timestamp.
			for i, k := range []byte(keys) {
				code := bytes.IndexByte([]byte("0123456789*#ABCD"), k)
				evTS := ts + uint32(i)*800
				for j := range 6 {
					dur := uint16(160 * (j + 1))
					flags := byte(10) // volume
					if j >= 3 {
						flags |= 0x80 // end
					}
					payload := []byte{byte(code), flags, 0, 0}
					binary.BigEndian.PutUint16(payload[2:], dur)
					send(101, j == 0, evTS, payload)
				}
			}
		}
		ts += 160
	})
}

// every20ms calls frame(n) for n = 0, 1, … at 20 ms intervals from now
// until stop closes.
func every20ms(stop <-chan struct{}, frame func(n int)) {
	start := time.Now()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Until(start.Add(time.Duration(n) * 20 * time.Millisecond))):
		}
		frame(n)
	}
}

func goertzel8k(pcm []int16, hz float64) float64 {
	w := 2 * math.Pi * hz / 8000
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = float64(x)+c*s1-s2, s1
	}
	return 2 * math.Sqrt(math.Max(s1*s1+s2*s2-c*s1*s2, 0)) / float64(len(pcm))
}

// TestPlainRTPLeg: a G.711 phone on a plain-RTP leg and a WebRTC participant
// hear each other (the phone not itself); the leg latches to the address
// packets come from, reports DTMF keys, and leaves on DELETE.
func TestPlainRTPLeg(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	s := startServer(t, allowLoopbackLegs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const webHz, phoneHz, amp = 770, 400, 8000
	web, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "call", Name: "web", ToneHz: webHz, ToneAmp: amp})
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	if err := web.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	ph := newPhone(t)
	// Tell the MCU a wrong port: it must answer where packets come from.
	legID, local := attachLeg(t, s, "call", "127.0.0.1:9", "PCMU", "phone")
	stop := make(chan struct{})
	played := make(chan struct{})
	go func() { defer close(played); ph.play(local, phoneHz, amp, "5#", stop) }()
	defer func() { close(stop); <-played }()

	if err := waitHearing(ctx, web, phoneHz, amp); err != nil {
		t.Fatalf("the WebRTC participant never heard the phone: %v", err)
	}
	time.Sleep(time.Second)
	pcm := web.Received(time.Now().Add(-time.Second), time.Now())
	heard := toneLevel(pcm, phoneHz, amp)
	back := ph.last(time.Second)
	fromWeb := 20 * math.Log10(goertzel8k(back, webHz)/amp+1e-12)
	own := 20 * math.Log10(goertzel8k(back, phoneHz)/amp+1e-12)
	t.Logf("WebRTC hears the phone at %+.2f dB; the phone hears WebRTC at %+.2f dB and itself at %+.1f dB", heard, fromWeb, own)
	if math.Abs(heard) > 3 || math.Abs(fromWeb) > 3 {
		t.Errorf("levels off: WebRTC hears the phone at %+.2f dB, the phone hears WebRTC at %+.2f dB", heard, fromWeb)
	}
	if fromWeb-own < 30 {
		t.Errorf("the phone hears itself at %+.1f dB", own)
	}
	s.waitMetric(t, "mcu_dtmf_keys_total", 2, 3*time.Second)

	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, s.URL+"/rooms/call/participants/"+legID, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE leg: %v %v", err, res)
	}
	res.Body.Close()
	s.waitMetric(t, "mcu_participants", 1, time.Second)
}

// TestPlainRTPLegIdle: a leg that never sends is removed after the idle
// timeout (30 s by default; 1 s here).
func TestPlainRTPLegIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	s := startServer(t, allowLoopbackLegs, func(c *Config) { c.legIdleTimeout = time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	web, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "idle", RecvOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	attachLeg(t, s, "idle", "127.0.0.1:9", "PCMA", "")
	s.waitMetric(t, "mcu_participants", 2, time.Second)
	s.waitMetric(t, "mcu_participants", 1, 4*time.Second)
}

// allowLoopbackLegs lets legs send to loopback, where the tests' phones
// and gateways listen (the default refuses it).
func allowLoopbackLegs(c *Config) { c.RTPAllow = []string{"127.0.0.0/8"} }

// postLeg asks for a plain-RTP leg toward remote in room and returns the
// status and body of the answer.
func postLeg(t *testing.T, s *testServer, room, remote, codecName, name string) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"remote": remote, "codec": codecName, "name": name})
	res, err := http.Post(s.URL+"/rooms/"+room+"/rtp", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// attachLeg attaches a plain-RTP leg for remote to room and returns its
// participant ID and the address the mcu wants its RTP at.
func attachLeg(t *testing.T, s *testServer, room, remote, codecName, name string) (string, *net.UDPAddr) {
	t.Helper()
	status, body := postLeg(t, s, room, remote, codecName, name)
	var leg struct{ ID, Local string }
	_ = json.Unmarshal(body, &leg)
	if status != http.StatusCreated || leg.ID == "" {
		t.Fatalf("leg: %d %s", status, body)
	}
	local, err := net.ResolveUDPAddr("udp4", leg.Local)
	if err != nil {
		t.Fatalf("local %q: %v", leg.Local, err)
	}
	if local.IP.IsUnspecified() {
		local.IP = net.IPv4(127, 0, 0, 1)
	}
	return leg.ID, local
}

// createRoom makes an empty room over gRPC (legs only join rooms).
func createRoom(t *testing.T, s *testServer, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := dial(t, s).CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
}

// received counts the datagrams conn gets within d.
func received(conn *net.UDPConn, d time.Duration) int {
	buf := make([]byte, 1500)
	n := 0
	_ = conn.SetReadDeadline(time.Now().Add(d))
	for {
		if _, err := conn.Read(buf); err != nil {
			return n
		}
		n++
	}
}

// rtpTo sends count PCMU packets of silence from conn to dst, the first
// with sequence number seq.
func rtpTo(t *testing.T, conn *net.UDPConn, dst *net.UDPAddr, seq uint16, count int) {
	t.Helper()
	for i := range count {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq + uint16(i), Timestamp: uint32(seq+uint16(i)) * 160, SSRC: uint32(conn.LocalAddr().(*net.UDPAddr).Port)}, Payload: bytes.Repeat([]byte{0xff}, 160)}
		b, _ := pkt.Marshal()
		if _, err := conn.WriteToUDP(b, dst); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPlainRTPLegRefusedRemote: by default a leg may not send to loopback,
// link-local, multicast, broadcast or unspecified addresses; the request
// gets 403 (gRPC: INVALID_ARGUMENT) with the reason and how to allow it,
// no leg joins, and nothing is ever sent to the refused address.
func TestPlainRTPLegRefusedRemote(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	s := startServer(t)
	createRoom(t, s, "door")
	victim, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	for _, tc := range []struct{ remote, reason string }{
		{victim.LocalAddr().String(), "loopback (allow it with -rtp-allow 127.0.0.0/8)"},
		{"[::1]:5004", "loopback (allow it with -rtp-allow ::1/128)"},
		{"169.254.169.254:80", "link-local (allow it with -rtp-allow 169.254.0.0/16)"},
		{"239.1.2.3:5004", "multicast (allow it with -rtp-allow 224.0.0.0/4)"},
		{"255.255.255.255:5004", "broadcast (allow it with -rtp-allow 255.255.255.255/32)"},
		{"0.0.0.0:5004", "unspecified (allow it with -rtp-allow 0.0.0.0/32)"},
	} {
		status, body := postLeg(t, s, "door", tc.remote, "PCMU", "")
		want := "remote " + tc.remote + " is not allowed: " + tc.reason + "\n"
		if status != http.StatusForbidden || !strings.HasSuffix(string(body), want) || strings.Count(string(body), "\n") != 1 {
			t.Errorf("%s: %d %q, want 403 ending %q", tc.remote, status, body, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := dial(t, s).CreateRTPLeg(ctx, &mcuv1.CreateRTPLegRequest{RoomId: "door", Remote: victim.LocalAddr().String(), Codec: "PCMU"}); code(err) != codes.InvalidArgument {
		t.Errorf("over gRPC: %v, want INVALID_ARGUMENT", err)
	}
	if got := s.metric(t, "mcu_participants"); got != 0 {
		t.Errorf("%v participants after refused legs", got)
	}
	if n := received(victim, 1500*time.Millisecond); n != 0 {
		t.Errorf("the refused remote got %d packets", n)
	}
}

// TestPlainRTPLegLatching: a leg answers its remote's IP on whatever port
// it sends from; RTP, DTMF and a BYE from another address are dropped and
// counted (the leg keeps sending to its remote and stays), unless
// -rtp-latch-any lets the leg move to where packets come from.
func TestPlainRTPLegLatching(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	for _, latchAny := range []bool{false, true} {
		t.Run(fmt.Sprintf("latch-any=%v", latchAny), func(t *testing.T) {
			s := startServer(t, allowLoopbackLegs, func(c *Config) { c.RTPLatchAny = latchAny })
			createRoom(t, s, "latch")
			udp := func(ip net.IP) *net.UDPConn {
				c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip})
				if err != nil {
					t.Skipf("no socket on %v: %v", ip, err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			// The gateway sends from another port than the remote it
			// asked for, as many do; the stranger from another IP.
			asked, gw, stranger := udp(net.IPv4(127, 0, 0, 1)), udp(net.IPv4(127, 0, 0, 1)), udp(net.IPv4(127, 0, 0, 2))
			_, local := attachLeg(t, s, "latch", asked.LocalAddr().String(), "PCMU", "gateway")
			if n := received(asked, time.Second); n < 20 {
				t.Fatalf("the remote got %d packets in a second before anyone sent", n)
			}
			rtpTo(t, gw, local, 1, 5)
			if n := received(gw, time.Second); n < 20 {
				t.Fatalf("the gateway's sending port got %d packets in a second", n)
			}

			rtpTo(t, stranger, local, 100, 5)
			key := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: 105, Timestamp: 1000, SSRC: 0xbad}, Payload: []byte{1, 0x8a, 0, 160}}
			send := func(p interface{ Marshal() ([]byte, error) }) {
				b, _ := p.Marshal()
				if _, err := stranger.WriteToUDP(b, local); err != nil {
					t.Fatal(err)
				}
			}
			send(&key)
			toGW, toStranger := received(gw, time.Second), received(stranger, 100*time.Millisecond)
			t.Logf("after the stranger sent: in a second the gateway got %d packets, the stranger %d", toGW, toStranger)
			if latchAny {
				if toStranger < 20 || toGW > 5 {
					t.Errorf("latching to any source: the leg did not move to the stranger (%d packets to it, %d to the gateway)", toStranger, toGW)
				}
				s.waitMetric(t, "mcu_dtmf_keys_total", 1, time.Second)
				send(&rtcp.Goodbye{Sources: []uint32{0xbad}}) // from where the leg now sends: it ends
				s.waitMetric(t, "mcu_participants", 0, 2*time.Second)
				return
			}
			if toGW < 40 || toStranger != 0 {
				t.Errorf("the leg moved: %d packets to the gateway, %d to the stranger", toGW, toStranger)
			}
			send(&rtcp.Goodbye{Sources: []uint32{0xbad}})
			if n := received(gw, 500*time.Millisecond); n < 20 {
				t.Errorf("after the stranger's BYE the gateway got %d packets in half a second", n)
			}
			if got := s.metric(t, "mcu_rtp_leg_foreign_packets_total"); got != 7 {
				t.Errorf("%v foreign packets counted, want 7", got)
			}
			if got := s.metric(t, "mcu_participants"); got != 1 {
				t.Errorf("%v participants after the stranger's BYE, want the leg still there", got)
			}
			if got := s.metric(t, "mcu_dtmf_keys_total"); got != 0 {
				t.Errorf("%v keys taken from the stranger", got)
			}
		})
	}
}

// TestPlainRTPLegLoop: a leg toward another live leg's own address, or
// its own port on another address of this host, is refused.
func TestPlainRTPLegLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	s := startServer(t, allowLoopbackLegs)
	createRoom(t, s, "loop")
	_, local := attachLeg(t, s, "loop", "127.0.0.1:9", "PCMU", "")
	for _, remote := range []string{local.String(), fmt.Sprintf("127.0.0.5:%d", local.Port)} {
		status, body := postLeg(t, s, "loop", remote, "PCMU", "")
		if status != http.StatusBadRequest || !strings.Contains(string(body), "is a plain-RTP leg of this server (a loop)") {
			t.Errorf("remote %s: %d %q, want 400 naming the loop", remote, status, body)
		}
	}
	s.waitMetric(t, "mcu_participants", 1, time.Second)
}

// TestPlainRTPLegCap: a room takes 16 legs by default; the 17th gets 409
// (gRPC: RESOURCE_EXHAUSTED) until one leaves, and other rooms are not
// affected.
func TestPlainRTPLegCap(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	s := startServer(t, allowLoopbackLegs)
	createRoom(t, s, "busy")
	createRoom(t, s, "other")
	var ids []string
	for i := range transport.DefaultMaxLegsPerRoom {
		id, _ := attachLeg(t, s, "busy", fmt.Sprintf("127.0.0.1:%d", 20000+i), "PCMU", "")
		ids = append(ids, id)
	}
	status, body := postLeg(t, s, "busy", "127.0.0.1:20100", "PCMU", "")
	if status != http.StatusConflict || !strings.Contains(string(body), "has 16 plain-RTP legs") {
		t.Fatalf("17th leg: %d %q, want 409", status, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := dial(t, s).CreateRTPLeg(ctx, &mcuv1.CreateRTPLegRequest{RoomId: "busy", Remote: "127.0.0.1:20100", Codec: "PCMU"}); code(err) != codes.ResourceExhausted {
		t.Errorf("17th leg over gRPC: %v, want RESOURCE_EXHAUSTED", err)
	}
	attachLeg(t, s, "other", "127.0.0.1:20100", "PCMU", "")
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, s.URL+"/rooms/busy/participants/"+ids[0], nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE leg: %v %v", err, res)
	}
	res.Body.Close()
	attachLeg(t, s, "busy", "127.0.0.1:20100", "PCMU", "")
}

// TestLegFECFollowsReceiverReports: a gateway's Opus leg gets in-band FEC
// while it has sent no RTCP (its loss is unknown), none once its receiver
// reports show a clean link, and FEC again when they show loss.
func TestLegFECFollowsReceiverReports(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	s := startServer(t, allowLoopbackLegs)
	joinAll(t, s, "fec", []float64{0}, 0) // a silent WebRTC participant creates the room (legs only join)
	udp := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	talker, listener := udp(), udp()
	_, talkerDst := attachLeg(t, s, "fec", talker.LocalAddr().String(), "opus", "talker")
	_, listenerDst := attachLeg(t, s, "fec", listener.LocalAddr().String(), "opus", "listener")

	// The talker sends speech-like audio (SILK, which carries FEC).
	enc, err := opus.NewEncoder(codec.EncoderParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	stop, sent := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sent)
		pcm, buf := make([]int16, 960), make([]byte, 1500)
		every20ms(stop, func(n int) {
			codectest.Speech(pcm, n*960)
			size, err := enc.Encode(pcm, buf)
			if err != nil {
				return
			}
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(n), Timestamp: uint32(n * 960), SSRC: 0x5eec}, Payload: buf[:size]}
			b, _ := pkt.Marshal()
			_, _ = talker.WriteToUDP(b, talkerDst)
		})
	}()
	defer func() { close(stop); <-sent }()

	// share reads what the listener receives for d: the share of its
	// SILK/hybrid packets with LBRR data, and the mcu's SSRC.
	share := func(d time.Duration) (float64, uint32) {
		buf := make([]byte, 1500)
		var payloads [][]byte
		var ssrc uint32
		var pkt rtp.Packet
		for end := time.Now().Add(d); time.Now().Before(end); {
			_ = listener.SetReadDeadline(end)
			n, err := listener.Read(buf)
			if err != nil {
				break
			}
			if pkt.Unmarshal(buf[:n]) != nil || pkt.PayloadType != 111 {
				continue // RTCP
			}
			ssrc = pkt.SSRC
			payloads = append(payloads, bytes.Clone(pkt.Payload))
		}
		with, readable := codectest.CountLBRR(payloads)
		if readable < 20 {
			t.Fatalf("the listener got %d readable Opus packets in %v", readable, d)
		}
		return float64(with) / float64(readable), ssrc
	}
	report := func(ssrc uint32, fraction uint8) {
		rr := rtcp.ReceiverReport{SSRC: 0x1157e, Reports: []rtcp.ReceptionReport{{SSRC: ssrc, FractionLost: fraction}}}
		b, _ := rr.Marshal()
		if _, err := listener.WriteToUDP(b, listenerDst); err != nil {
			t.Fatal(err)
		}
	}
	got, ssrc := share(2 * time.Second)
	t.Logf("no RTCP yet: %.0f %% of packets carry FEC", 100*got)
	if got < 0.5 {
		t.Errorf("without receiver reports %.0f %% of packets carry FEC, want most", 100*got)
	}
	for _, step := range []struct {
		fraction uint8
		wantFEC  bool
	}{{0, false}, {26, true}} {
		report(ssrc, step.fraction)
		share(1200 * time.Millisecond) // the room adapts once a second
		got, _ = share(time.Second)
		t.Logf("reports %.0f %% loss: %.0f %% of packets carry FEC", float64(step.fraction)/2.56, 100*got)
		if (got > 0.5) != step.wantFEC {
			t.Errorf("reports %.0f %% loss: %.0f %% of packets carry FEC, want FEC %v", float64(step.fraction)/2.56, 100*got, step.wantFEC)
		}
	}
}
