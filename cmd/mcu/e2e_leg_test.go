package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/g711"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
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
	s := startServer(t)
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
	s := startServer(t, func(c *Config) { c.legIdleTimeout = time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	web, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "idle", RecvOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	res, err := http.Post(s.URL+"/rooms/idle/rtp", "application/json", bytes.NewReader([]byte(`{"remote":"127.0.0.1:9","codec":"PCMA"}`)))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("leg: %v %v", err, res)
	}
	res.Body.Close()
	s.waitMetric(t, "mcu_participants", 2, time.Second)
	s.waitMetric(t, "mcu_participants", 1, 4*time.Second)
}

// attachLeg attaches a plain-RTP leg for remote to room and returns its
// participant ID and the address the mcu wants its RTP at.
func attachLeg(t *testing.T, s *testServer, room, remote, codecName, name string) (string, *net.UDPAddr) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"remote": remote, "codec": codecName, "name": name})
	res, err := http.Post(s.URL+"/rooms/"+room+"/rtp", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var leg struct{ ID, Local string }
	_ = json.NewDecoder(res.Body).Decode(&leg)
	if res.StatusCode != http.StatusCreated || leg.ID == "" {
		t.Fatalf("leg: %d %+v", res.StatusCode, leg)
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

// TestLegFECFollowsReceiverReports: a gateway's Opus leg gets in-band FEC
// while it has sent no RTCP (its loss is unknown), none once its receiver
// reports show a clean link, and FEC again when they show loss.
func TestLegFECFollowsReceiverReports(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	s := startServer(t)
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
