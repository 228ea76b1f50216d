package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/nats-io/nats.go/jetstream"
)

// defaultSweepEvery is how often a node looks for directory entries that
// name a home without the room: a first join routed to a node and
// refused there (a bad offer), or a node that died and whose rooms nobody
// joined again. Left alone they would pile up in NATS's memory, as fast
// as anyone may post offers for new room names.
const defaultSweepEvery = 30 * time.Second

// sweep deletes the directory entries that name this node for a room it
// does not host, or a node that is gone, when a previous sweep (at least
// a sweep interval ago) found them so at the same revision: a claim or a
// placement under way meanwhile changed the revision, and no clock of
// another machine is trusted.
func (n *Node) sweep(kv jetstream.KeyValue) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
	defer cancel()
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		n.log.Warn("sweeping the directory", "err", err)
		return
	}
	defer func() { _ = w.Stop() }()
	suspects := map[string]uint64{}
	for e := range w.Updates() {
		if e == nil {
			break // the snapshot is read
		}
		if !strings.HasPrefix(e.Key(), roomKeyPrefix) || !n.orphan(ctx, e) {
			continue
		}
		if n.suspects[e.Key()] != e.Revision() {
			suspects[e.Key()] = e.Revision()
			continue
		}
		err := kv.Delete(ctx, e.Key(), jetstream.LastRevision(e.Revision()))
		if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			n.log.Warn("deleting a stale directory entry", "key", e.Key(), "err", err)
		}
	}
	n.suspects = suspects
}

// orphan reports whether a directory entry names a home that does not
// host the room: this node without it, or a node that is gone.
func (n *Node) orphan(ctx context.Context, e jetstream.KeyValueEntry) bool {
	home := string(e.Value())
	if home != n.cfg.ID {
		return !n.alive(ctx, home)
	}
	name, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(e.Key(), roomKeyPrefix))
	if err != nil {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	_, hosted := n.held[media.RoomID(name)]
	return !hosted
}
