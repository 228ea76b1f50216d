package transport

import (
	"time"

	"github.com/mcu-project/mcu/media"
)

// A leg's datagrams are read by whoever needs them next instead of by a
// goroutine per leg blocked in the netpoller: the room's audio clock takes
// what is queued on the socket right before it pops the leg's playout
// buffer (ReadAudio), the leg's watcher every second (what a leg the room
// does not pull yet sends: RTCP BYE, the idle timer). The packets keep
// the time the kernel received them (SO_TIMESTAMPNS), so the playout
// buffer and the round trip see real arrival times. A goroutine woken per
// packet cost a small audio room ~9 syscalls and two thread hand-offs per
// incoming packet (issue 21: recvfrom with half of them EAGAIN, epoll,
// futex, the scheduler's nanosleep); a drain per tick is one recvmsg per
// packet plus one that finds the queue empty.

// ReadAudio implements room.Peer: it first takes what arrived since the
// last tick, then pops the playout buffer.
func (l *RTPLeg) ReadAudio(now time.Time) media.EncodedAudio {
	l.receive(now)
	return l.audioIn.ReadAudio(now)
}

// receive handles every datagram queued on the socket, once per tick:
// the clock's further ReadAudio calls for the same now find the queue as
// it was (the packets arriving meanwhile are due at the next tick). A
// panic in handling fails the leg, not the caller's clock.
func (l *RTPLeg) receive(now time.Time) {
	l.readMu.Lock()
	defer l.readMu.Unlock()
	if now.Equal(l.drained) {
		return
	}
	l.drained = now
	defer l.contain("reader")
	for {
		n, from, at, ok := l.next()
		if !ok {
			return // queue empty, or the socket closed
		}
		l.handleDatagram(l.rbuf[:n], from, at)
	}
}
