package transport

import "time"

// Connected is closed once the participant's ICE and DTLS have connected:
// until then the room gives it a place but no codecs and no mix slot.
func (p *Peer) Connected() <-chan struct{} { return p.up }

// watchConnect drops the participant (through its gone callback, as a
// failed connection is) if ICE has not connected within timeout of the
// answer, or DTLS within timeout more. Its goroutine ends with the peer:
// Close stops it, and it never outlives a Close that it started itself.
func (p *Peer) watchConnect(timeout time.Duration) {
	go func() {
		t := time.NewTimer(timeout)
		defer t.Stop()
		for _, stage := range []struct {
			done <-chan struct{}
			what string
		}{{p.iceUp, "ICE did not connect"}, {p.up, "DTLS did not complete"}} {
			select {
			case <-p.stop:
				return
			case <-stage.done:
				t.Reset(timeout)
			case <-t.C:
				p.obs.stats.connectTimeouts.Add(1)
				p.obs.log.Info("participant dropped: "+stage.what, "within", timeout)
				p.fireGone(nil)
				return
			}
		}
	}()
}
