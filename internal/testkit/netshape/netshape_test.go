package netshape

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestShapedLink offers a burst of UDP to the namespace through a 200
// kbit/s link with a 200 ms queue: about a second's worth of the link's
// rate gets through and the rest is dropped at the bottleneck.
func TestShapedLink(t *testing.T) {
	l := NewForTest(t)
	if err := l.SetRate(200, 200); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := l.Command(ctx, "ip", "addr", "show", l.PeerIf).CombinedOutput(); err != nil {
		t.Fatalf("command in the namespace: %v: %s", err, out)
	}
	conn, err := net.Dial("udp", l.PeerIP+":9")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pkt := make([]byte, 1000)
	for range 200 { // 200 kB at once: 8 s of link time
		_, _ = conn.Write(pkt)
	}
	time.Sleep(time.Second)
	sent, dropped, err := l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if sent > 60_000 || dropped < 100 {
		t.Fatalf("the link sent %d bytes and dropped %d packets in ~1 s: not shaped to 200 kbit/s", sent, dropped)
	}
	if err := l.SetRate(0, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Stats(); err != nil {
		t.Fatal(err)
	}
}
