package transport

import (
	"net/netip"
	"syscall"
	"time"
	"unsafe"
)

// oobSize holds one SCM_TIMESTAMPNS control message.
const oobSize = 64

// prepareRead has the kernel stamp each datagram with its arrival time
// and keeps the socket's raw access for next.
func (l *RTPLeg) prepareRead() error {
	raw, err := l.conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	l.raw, l.rbuf, l.oob = raw, make([]byte, maxRTPPayload), make([]byte, oobSize)
	return serr
}

// next takes one datagram queued on the socket into l.rbuf without
// waiting, with its source and arrival time; false when none is queued
// (or the socket is closed).
func (l *RTPLeg) next() (n int, from netip.AddrPort, at time.Time, ok bool) {
	var (
		oobn int
		sa   syscall.Sockaddr
		rerr error
	)
	err := l.raw.Read(func(fd uintptr) bool {
		n, oobn, _, sa, rerr = syscall.Recvmsg(int(fd), l.rbuf, l.oob, syscall.MSG_DONTWAIT)
		return true // never wait for the netpoller
	})
	if err != nil || rerr != nil {
		return 0, netip.AddrPort{}, time.Time{}, false
	}
	at = time.Now() // if the kernel gave no stamp
	if msgs, err := syscall.ParseSocketControlMessage(l.oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
				at = time.Unix((*syscall.Timespec)(unsafe.Pointer(&m.Data[0])).Unix())
			}
		}
	}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		from = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		from = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return n, from, at, true
}
