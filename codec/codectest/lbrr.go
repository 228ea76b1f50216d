package codectest

// OpusLBRR reports whether a mono Opus packet of one SILK or hybrid frame
// (TOC code 0, RFC 6716 §3.2.2) carries in-band FEC (SILK's LBRR data):
// the second bit its range coder yields, after the VAD flag (§4.2.3). ok
// is false for packets it cannot read: CELT-only, stereo, several frames,
// or a 40/60 ms SILK frame, whose header has one VAD flag per 20 ms.
// Tests use it to see what FEC an encoder put on the wire.
func OpusLBRR(pkt []byte) (lbrr, ok bool) {
	if len(pkt) < 2 {
		return false, false
	}
	config, stereo, code := pkt[0]>>3, pkt[0]&4 != 0, pkt[0]&3
	if config >= 16 || stereo || code != 0 {
		return false, false
	}
	// SILK-only configs 0–11 are 10/20/40/60 ms in fours; hybrid ones
	// (12–15) are 10 or 20 ms: one VAD flag either way below 40 ms.
	if config < 12 && config%4 >= 2 {
		return false, false
	}
	d := rangeDecoder{buf: pkt[1:]}
	d.init()
	d.bit() // VAD flag
	return d.bit(), true
}

// CountLBRR counts the packets OpusLBRR can read, and those of them that
// carry in-band FEC.
func CountLBRR(pkts [][]byte) (with, readable int) {
	for _, p := range pkts {
		if lbrr, ok := OpusLBRR(p); ok {
			readable++
			if lbrr {
				with++
			}
		}
	}
	return with, readable
}

// rangeDecoder is the start of RFC 6716's range decoder (§4.1), enough to
// read equiprobable bits.
type rangeDecoder struct {
	buf      []byte
	pos      int
	rng, val uint32
	rem      uint32
}

func (d *rangeDecoder) byte() uint32 {
	if d.pos >= len(d.buf) {
		return 0
	}
	d.pos++
	return uint32(d.buf[d.pos-1])
}

func (d *rangeDecoder) init() {
	d.rng = 128
	d.rem = d.byte()
	d.val = d.rng - 1 - d.rem>>1
	d.normalize()
}

func (d *rangeDecoder) normalize() {
	for d.rng <= 1<<23 {
		d.rng <<= 8
		sym := d.rem
		d.rem = d.byte()
		sym = (sym<<8 | d.rem) >> 1
		d.val = (d.val<<8 + (255 &^ sym)) & (1<<31 - 1)
	}
}

// bit decodes one bit of probability 1/2 (ec_dec_bit_logp with logp 1).
func (d *rangeDecoder) bit() bool {
	s := d.rng >> 1
	one := d.val < s
	if one {
		d.rng = s
	} else {
		d.val -= s
		d.rng -= s
	}
	d.normalize()
	return one
}
