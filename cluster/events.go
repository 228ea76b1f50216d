package cluster

import "github.com/nats-io/nats.go"

// PublishEvent hands one of this node's room events to the nodes that
// watch events. While NATS is out of reach it is dropped, not queued: a
// burst of stale events after a reconnection would help no one.
func (n *Node) PublishEvent(data []byte) {
	if n.nc.IsConnected() {
		_ = n.nc.Publish(eventSubject+n.cfg.ID, data)
	}
}

// WatchEvents delivers the other nodes' events to Config.OnEvent until
// the returned stop is called. The node subscribes only while someone
// watches, so that events cross the network only when someone reads them.
func (n *Node) WatchEvents() (stop func(), err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if n.watchers == 0 && n.cfg.OnEvent != nil {
		if n.eventSub, err = n.nc.Subscribe(eventSubject+"*", n.onEvent); err != nil {
			return nil, err
		}
	}
	n.watchers++
	stopped := false
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if stopped {
			return
		}
		stopped = true
		if n.watchers--; n.watchers == 0 && n.eventSub != nil {
			_ = n.eventSub.Unsubscribe()
			n.eventSub = nil
		}
	}, nil
}

func (n *Node) onEvent(msg *nats.Msg) {
	if msg.Subject != eventSubject+n.cfg.ID {
		n.cfg.OnEvent(msg.Data)
	}
}
