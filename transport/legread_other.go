//go:build !linux

package transport

import (
	"net/netip"
	"time"
)

func (l *RTPLeg) prepareRead() error {
	l.rbuf = make([]byte, maxRTPPayload)
	return nil
}

// next takes one datagram queued on the socket without waiting (a read
// deadline already past), stamped when taken: elsewhere than Linux the
// arrival times are the drain's.
func (l *RTPLeg) next() (n int, from netip.AddrPort, at time.Time, ok bool) {
	if l.conn.SetReadDeadline(time.Unix(1, 0)) != nil {
		return 0, netip.AddrPort{}, time.Time{}, false
	}
	n, from, err := l.conn.ReadFromUDPAddrPort(l.rbuf)
	return n, from, time.Now(), err == nil
}
