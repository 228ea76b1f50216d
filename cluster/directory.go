package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// casAttempts bounds the retries of a directory change that lost a race:
// each lost race means another node changed the entry, and the next
// attempt reads what it wrote.
const casAttempts = 4

// roomKey is a room's key in the directory: room names may hold
// characters keys may not ('~'), so the key is the name in base64url.
func roomKey(r media.RoomID) string {
	return roomKeyPrefix + base64.RawURLEncoding.EncodeToString([]byte(r))
}

// directory returns the rooms bucket, or ErrUnavailable while NATS is out
// of reach: a lookup then fails at once instead of after a timeout.
func (n *Node) directory() (jetstream.KeyValue, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.closed:
		return nil, ErrClosed
	case !n.nc.IsConnected():
		return nil, fmt.Errorf("%w: NATS is disconnected", ErrUnavailable)
	case n.roomsKV == nil:
		return nil, fmt.Errorf("%w: not set up in NATS yet", ErrUnavailable)
	}
	return n.roomsKV, nil
}

// opErr marks a failed NATS operation as the cluster being unreachable.
func opErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// alive reports whether a node is registered: from the watched registry,
// or, for a node this one has not heard of yet (it just started), from
// its entry in the bucket, whose TTL the server keeps.
func (n *Node) alive(ctx context.Context, id string) bool {
	n.mu.Lock()
	p, known := n.peers[id]
	kv := n.nodesKV
	n.mu.Unlock()
	if known {
		return time.Since(p.seen) < n.cfg.NodeTTL
	}
	if kv == nil {
		return true // cannot tell: never take a room from a node on doubt
	}
	_, err := kv.Get(ctx, id)
	return !errors.Is(err, jetstream.ErrKeyNotFound)
}

// Claim makes this node the room's home before it creates the room:
// create-if-absent, or a compare-and-set over an entry that names this
// node (a router claimed it for us) or a node that is gone. It fails with
// ErrHomedElsewhere when a living node hosts the room. release gives the
// home up once the room is gone; it never takes back a newer claim.
func (n *Node) Claim(r media.RoomID) (release func(), err error) {
	kv, err := n.directory()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
	defer cancel()
	key := roomKey(r)
	for range casAttempts {
		rev, err := kv.Create(ctx, key, []byte(n.cfg.ID))
		if err == nil {
			return n.hold(r, rev), nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, opErr(err)
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, opErr(err)
		}
		if home := string(e.Value()); home != n.cfg.ID && n.alive(ctx, home) {
			return nil, fmt.Errorf("%w: %s is on node %s", ErrHomedElsewhere, r, home)
		}
		// Writing the entry again, even when it names us, moves its
		// revision past any release still under way for an earlier room
		// of that name.
		rev, err = kv.Update(ctx, key, []byte(n.cfg.ID), e.Revision())
		if err == nil {
			return n.hold(r, rev), nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return nil, opErr(err)
		}
	}
	return nil, fmt.Errorf("%w: room %s: its directory entry kept changing", ErrUnavailable, r)
}

// hold records a claim and returns its release.
func (n *Node) hold(r media.RoomID, rev uint64) func() {
	c := &claim{rev: rev}
	n.mu.Lock()
	n.held[r] = c
	n.mu.Unlock()
	return func() { n.release(r, c) }
}

// release deletes the room's entry if it is still c's revision, in the
// background: a leave does not wait for NATS.
func (n *Node) release(r media.RoomID, c *claim) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.held[r] != c {
		return
	}
	delete(n.held, r)
	kv, rev := n.roomsKV, c.rev
	if kv == nil {
		// NATS is away: the entry, if NATS kept it, goes with the
		// sweep (its home no longer hosts the room).
		return
	}
	n.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
		defer cancel()
		if err := kv.Delete(ctx, roomKey(r), jetstream.LastRevision(rev)); err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			n.log.Warn("releasing a room's home", "room", r, "err", err)
		}
	})
}

// Home returns the node that hosts the room. A room without a living home
// fails with ErrNoRoom, unless create: then it is placed (see place) and
// the chosen node is written into the directory for it, with
// create-if-absent, or compare-and-set over a home that is gone; of
// concurrent placements, the first write wins and the others follow it.
func (n *Node) Home(ctx context.Context, r media.RoomID, create bool) (NodeInfo, error) {
	kv, err := n.directory()
	if err != nil {
		return NodeInfo{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	key := roomKey(r)
	for range casAttempts {
		var rev uint64
		e, err := kv.Get(ctx, key)
		switch {
		case err == nil:
			home := string(e.Value())
			if n.alive(ctx, home) {
				if info, err := n.Lookup(home); err == nil {
					return info, nil
				}
				// Registered, but its first heartbeat has not reached
				// us: its entry has what routing needs.
				return n.fetchNode(ctx, home)
			}
			rev = e.Revision()
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return NodeInfo{}, opErr(err)
		}
		if !create {
			return NodeInfo{}, fmt.Errorf("%w: %s", ErrNoRoom, r)
		}
		target, ok := n.place()
		if !ok {
			return NodeInfo{}, fmt.Errorf("%w: every node is draining or above stress %.2f", ErrNoCapacity, RoomStressLimit)
		}
		if rev == 0 {
			_, err = kv.Create(ctx, key, []byte(target.ID))
		} else {
			_, err = kv.Update(ctx, key, []byte(target.ID), rev)
		}
		if err == nil {
			return target, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return NodeInfo{}, opErr(err)
		}
	}
	return NodeInfo{}, fmt.Errorf("%w: room %s: its directory entry kept changing", ErrUnavailable, r)
}

// fetchNode reads a node's registry entry directly.
func (n *Node) fetchNode(ctx context.Context, id string) (NodeInfo, error) {
	n.mu.Lock()
	kv := n.nodesKV
	n.mu.Unlock()
	e, err := kv.Get(ctx, id)
	if err != nil {
		return NodeInfo{}, opErr(err)
	}
	return decodeNode(e)
}

// place chooses the node for a new room among the living ones.
func (n *Node) place() (NodeInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return place(n.liveLocked(), n.cfg.ID)
}

// Admit checks that the room's home takes another participant (stress
// below JoinStressLimit, corrected for the joins sent to it since its
// last report, or unlimited) and counts the participant against it.
func (n *Node) Admit(home string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.peers[home]
	if !ok {
		return nil // not heard of yet: a node that just started
	}
	if p.info.overloaded(JoinStressLimit) {
		return fmt.Errorf("%w: node %s is at stress %.2f (limit %.2f)", ErrOverloaded, home, p.info.CorrectedStress(), JoinStressLimit)
	}
	p.info.Pending++
	return nil
}
