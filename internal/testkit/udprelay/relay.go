// Package udprelay is an in-process UDP relay that impairs one direction of
// a media path — loss, jitter (and so reordering), duplication — for tests
// of behaviour under bad networks, where the kernel's netem is unavailable.
// Only RTP/RTCP packets (first byte 128–191, RFC 7983) are impaired, so ICE
// and DTLS still complete and the test measures the media path.
package udprelay

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Impairment describes what happens to client→server media packets, and
// DownLoss to server→client RTP.
type Impairment struct {
	Loss      float64       // probability a packet is dropped
	Duplicate float64       // probability a packet is sent twice
	Jitter    time.Duration // each packet is delayed uniformly in [0, Jitter)
	Seed      uint64        // for reproducible runs
	// DownLoss is the probability a server→client RTP packet (not RTCP:
	// the sender's reports still arrive) is dropped.
	DownLoss float64
}

// Relay forwards between one client (latched from the first packet it
// sends) and one server address.
type Relay struct {
	down *net.UDPConn // the client talks to this socket
	up   *net.UDPConn // connected to the server
	imp  Impairment

	rngMu sync.Mutex
	rng   *rand.Rand

	client atomic.Pointer[net.UDPAddr]
	wg     sync.WaitGroup
	closed atomic.Bool

	Dropped, Duplicated, Forwarded atomic.Uint64
	// DownDropped counts the server→client packets DownLoss dropped.
	DownDropped atomic.Uint64
}

// New starts a relay on 127.0.0.1 towards server.
func New(server *net.UDPAddr, imp Impairment) (*Relay, error) {
	down, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	up, err := net.DialUDP("udp4", nil, server)
	if err != nil {
		down.Close()
		return nil, err
	}
	r := &Relay{down: down, up: up, imp: imp, rng: rand.New(rand.NewPCG(imp.Seed, 0x5eed))}
	r.wg.Add(2)
	go r.fromClient()
	go r.fromServer()
	return r, nil
}

// Addr is where the client should send.
func (r *Relay) Addr() *net.UDPAddr { return r.down.LocalAddr().(*net.UDPAddr) }

func isMedia(b []byte) bool { return len(b) > 0 && b[0] >= 128 && b[0] <= 191 }

// isRTP tells RTP from RTCP sharing its port (RFC 5761: RTCP packet types
// 192–223 sit where RTP has its marker bit and payload type).
func isRTP(b []byte) bool { return isMedia(b) && len(b) > 1 && (b[1] < 192 || b[1] > 223) }

// dropDown rolls whether a server→client packet is dropped.
func (r *Relay) dropDown(b []byte) bool {
	if r.imp.DownLoss == 0 || !isRTP(b) {
		return false
	}
	r.rngMu.Lock()
	defer r.rngMu.Unlock()
	return r.rng.Float64() < r.imp.DownLoss
}

func (r *Relay) roll() (drop, dup bool, delay time.Duration) {
	r.rngMu.Lock()
	defer r.rngMu.Unlock()
	drop = r.rng.Float64() < r.imp.Loss
	dup = r.rng.Float64() < r.imp.Duplicate
	if r.imp.Jitter > 0 {
		delay = time.Duration(r.rng.Int64N(int64(r.imp.Jitter)))
	}
	return drop, dup, delay
}

func (r *Relay) fromClient() {
	defer r.wg.Done()
	buf := make([]byte, 1600)
	for {
		n, from, err := r.down.ReadFromUDP(buf)
		if err != nil {
			return
		}
		r.client.Store(from)
		pkt := append([]byte(nil), buf[:n]...)
		if !isMedia(pkt) {
			_, _ = r.up.Write(pkt)
			continue
		}
		drop, dup, delay := r.roll()
		if drop {
			r.Dropped.Add(1)
			continue
		}
		copies := 1
		if dup {
			copies = 2
			r.Duplicated.Add(1)
		}
		for range copies {
			r.send(pkt, delay)
		}
	}
}

// send forwards pkt after delay; Close waits for pending sends.
func (r *Relay) send(pkt []byte, delay time.Duration) {
	r.Forwarded.Add(1)
	if delay == 0 {
		_, _ = r.up.Write(pkt)
		return
	}
	r.wg.Add(1)
	time.AfterFunc(delay, func() {
		defer r.wg.Done()
		if !r.closed.Load() {
			_, _ = r.up.Write(pkt)
		}
	})
}

func (r *Relay) fromServer() {
	defer r.wg.Done()
	buf := make([]byte, 1600)
	for {
		n, err := r.up.Read(buf)
		if err != nil {
			if r.closed.Load() {
				return
			}
			// A connected UDP socket reports an ICMP port unreachable
			// as a read error; the path may still come up.
			continue
		}
		if r.dropDown(buf[:n]) {
			r.DownDropped.Add(1)
			continue
		}
		if c := r.client.Load(); c != nil {
			_, _ = r.down.WriteToUDP(buf[:n], c)
		}
	}
}

// Close stops the relay and waits for its goroutines and pending sends.
func (r *Relay) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	err := errors.Join(r.down.Close(), r.up.Close())
	r.wg.Wait()
	return err
}
