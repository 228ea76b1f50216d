package pionclient

import (
	"errors"

	"github.com/pion/rtp"
)

// REDBlock is one block of a RED payload (RFC 2198): its payload type, how
// far its RTP time lies before the packet's, and its data.
type REDBlock struct {
	PT      uint8
	Offset  uint32
	Payload []byte
}

var errBadRED = errors.New("pionclient: malformed RED payload")

// SplitRED splits a RED payload into its blocks, redundant ones first and
// the primary last (whose Offset is 0). The blocks alias payload.
func SplitRED(payload []byte) ([]REDBlock, error) {
	var blocks []REDBlock
	var lengths []int
	i := 0
	for {
		if i >= len(payload) {
			return nil, errBadRED
		}
		if payload[i]&0x80 == 0 { // the primary block's one-byte header
			blocks = append(blocks, REDBlock{PT: payload[i] & 0x7f})
			i++
			break
		}
		if i+4 > len(payload) {
			return nil, errBadRED
		}
		h := payload[i : i+4]
		blocks = append(blocks, REDBlock{PT: h[0] & 0x7f, Offset: uint32(h[1])<<6 | uint32(h[2])>>2})
		lengths = append(lengths, int(h[2]&3)<<8|int(h[3]))
		i += 4
	}
	for k, n := range lengths {
		if i+n > len(payload) {
			return nil, errBadRED
		}
		blocks[k].Payload = payload[i : i+n]
		i += n
	}
	blocks[len(blocks)-1].Payload = payload[i:]
	return blocks, nil
}

// redReceiver turns a RED stream back into the frames a listener decodes:
// each packet's primary, and a lost one's frame from the redundant block
// of the next packet that carries it.
type redReceiver struct {
	started   bool
	lastSeq   uint16
	lastTS    uint32 // RTP time of the newest frame handed out
	recovered int    // frames taken from redundant blocks
}

// redFrame is one frame to decode with its RTP time.
type redFrame struct {
	ts      uint32
	payload []byte
}

// frames returns the frames pkt brings, oldest first: after a gap in
// sequence numbers, the redundant blocks newer than the last frame handed
// out, then the primary. A packet that does not parse, a repeat and a late
// one bring none.
func (r *redReceiver) frames(pkt *rtp.Packet) []redFrame {
	blocks, err := SplitRED(pkt.Payload)
	if err != nil {
		return nil
	}
	d := pkt.SequenceNumber - r.lastSeq
	if r.started && (d == 0 || d >= 1<<15) {
		return nil
	}
	var out []redFrame
	if r.started && d > 1 {
		for _, b := range blocks[:len(blocks)-1] {
			ts := pkt.Timestamp - b.Offset
			if age := ts - r.lastTS; age > 0 && age < 1<<31 && len(b.Payload) > 0 {
				out = append(out, redFrame{ts, b.Payload})
				r.recovered++
			}
		}
	}
	r.started, r.lastSeq, r.lastTS = true, pkt.SequenceNumber, pkt.Timestamp
	return append(out, redFrame{pkt.Timestamp, blocks[len(blocks)-1].Payload})
}
