package cluster

import (
	"cmp"
	"slices"
	"time"
)

// The stress thresholds of admission (issue 19): a node above
// RoomStressLimit takes no new rooms, above JoinStressLimit no new
// participants either.
const (
	RoomStressLimit = 0.85
	JoinStressLimit = 0.95
	// DefaultTickTarget is the audio tick lateness p99 a node is held
	// to: the same 5 ms as room.LateTickThreshold and bench/'s capacity
	// runs.
	DefaultTickTarget = 5 * time.Millisecond
	// DefaultCPUTarget is the share of the machine's CPU a node may use
	// at stress 1, leaving headroom for bursts (joins, keyframes).
	DefaultCPUTarget = 0.8
	// uncappedParticipantStress is what one more participant is assumed
	// to add to a node without a participant cap until its next report
	// shows what it really costs (Jitsi's stress correction for joins
	// that arrive between load reports).
	uncappedParticipantStress = 0.01
	// localBias is how much more stressed than the least-stressed node
	// the node that received a request for a new room may be and still
	// host it itself: the room then costs no proxy hop, and a cluster of
	// idle nodes does not scatter rooms on noise in their CPU readings.
	localBias = 0.1
)

// Load is what a node measures about itself for each heartbeat.
type Load struct {
	// CPU is the share of the machine's CPU the process used since the
	// last sample, 0..1.
	CPU float64 `json:"cpu"`
	// TickP99 is the audio mix ticks' lateness p99 since the last sample.
	TickP99 time.Duration `json:"tick_p99"`
	// Participants and Rooms are what the node hosts now.
	Participants int `json:"participants"`
	Rooms        int `json:"rooms"`
	// Cap is the participants the node takes at most (0: no cap).
	Cap int `json:"cap,omitempty"`
}

// Targets are what a node's stress measures it against; a zero target
// leaves its term out.
type Targets struct {
	CPU  float64       // share of the machine's CPU
	Tick time.Duration // mix tick lateness p99
}

// Stress is the worst of the node's CPU against its target, its tick
// lateness p99 against its target and its participants against its cap:
// 1 is a node at its limit on one of them.
func (l Load) Stress(t Targets) float64 {
	var s float64
	if t.CPU > 0 {
		s = l.CPU / t.CPU
	}
	if t.Tick > 0 {
		s = max(s, float64(l.TickP99)/float64(t.Tick))
	}
	if l.Cap > 0 {
		s = max(s, float64(l.Participants)/float64(l.Cap))
	}
	return s
}

// counted: at least one of the node's CPU, tick lateness and
// participants is measured against a limit.
func (l Load) counted(t Targets) bool { return t.CPU > 0 || t.Tick > 0 || l.Cap > 0 }

// participantStress is what one more participant adds to the node's
// stress until it reports again.
func (l Load) participantStress() float64 {
	if l.Cap > 0 {
		return 1 / float64(l.Cap)
	}
	return uncappedParticipantStress
}

// NodeInfo is a node as its last heartbeat described it.
type NodeInfo struct {
	ID string `json:"id"`
	// URL is where the other nodes reach the node's HTTP API.
	URL  string `json:"url"`
	Load Load   `json:"load"`
	// Stress is Load's stress as the node computed it (with its own CPU
	// target).
	Stress float64 `json:"stress"`
	// Unlimited: the node counts none of CPU, tick lateness and
	// participants (targets and cap all 0), so stress never refuses it a
	// room or a participant. Only the joins sent to it still order it
	// among the nodes for placement. Without it, the correction for
	// joins between heartbeats alone refused the 95th join of a burst
	// within one heartbeat (a benchmark's capacity search).
	Unlimited bool      `json:"unlimited,omitempty"`
	Draining  bool      `json:"draining,omitempty"`
	Started   time.Time `json:"started"`
	// Pending are the participants this node sent to the node since its
	// last heartbeat (local: not reported by the node itself).
	Pending int `json:"-"`
}

// CorrectedStress is the reported stress plus what the joins sent to the
// node since that report add.
func (n NodeInfo) CorrectedStress() float64 {
	return n.Stress + float64(n.Pending)*n.Load.participantStress()
}

// overloaded: the node's stress (corrected for the joins sent to it since
// its last report) is at limit or above, unless it is unlimited.
func (n NodeInfo) overloaded(limit float64) bool {
	return !n.Unlimited && n.CorrectedStress() >= limit
}

// place picks the node for a new room among nodes: the least stressed
// (corrected) of those below RoomStressLimit (or unlimited) and not
// draining, or self when it is one of them and within localBias of that.
func place(nodes []NodeInfo, self string) (NodeInfo, bool) {
	var ok []NodeInfo
	for _, n := range nodes {
		if !n.Draining && !n.overloaded(RoomStressLimit) {
			ok = append(ok, n)
		}
	}
	if len(ok) == 0 {
		return NodeInfo{}, false
	}
	best := slices.MinFunc(ok, func(a, b NodeInfo) int {
		return cmp.Or(cmp.Compare(a.CorrectedStress(), b.CorrectedStress()), cmp.Compare(a.Load.Rooms, b.Load.Rooms), cmp.Compare(a.ID, b.ID))
	})
	for _, n := range ok {
		if n.ID == self && n.CorrectedStress() <= best.CorrectedStress()+localBias {
			return n, true
		}
	}
	return best, true
}
