package api

import (
	"sync"

	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
)

// subscriberQueue bounds the events waiting for one stream; a subscriber
// that falls this far behind is dropped (its stream ends) rather than ever
// blocking a room.
const subscriberQueue = 256

// Broker fans room events out to event streams. Publish never blocks.
type Broker struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription is one event stream's queue; C is closed if it overflows.
type Subscription struct {
	C      chan room.Event
	room   media.RoomID // "" for every room
	closed bool
}

// NewBroker returns a broker with no subscribers.
func NewBroker() *Broker { return &Broker{subs: map[*Subscription]struct{}{}} }

// Subscribe starts a queue for one room's events ("" for all).
func (b *Broker) Subscribe(r media.RoomID) *Subscription {
	s := &Subscription{C: make(chan room.Event, subscriberQueue), room: r}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Unsubscribe ends a queue; idempotent.
func (b *Broker) Unsubscribe(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, s)
	if !s.closed {
		s.closed = true
		close(s.C)
	}
}

// Publish hands ev to every matching subscriber (room.Config.OnEvent).
func (b *Broker) Publish(ev room.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.room != "" && s.room != ev.Room {
			continue
		}
		select {
		case s.C <- ev:
		default:
			delete(b.subs, s)
			s.closed = true
			close(s.C)
		}
	}
}
