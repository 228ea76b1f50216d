package h264

// Minimal, allocation-free H.264 bitstream inspection (ITU-T H.264
// §7.3): splitting an Annex-B access unit into NAL units and reading the
// few header fields the decoder needs to police the stream (picture size,
// frame_num, which parameter sets a slice uses) before libavcodec sees it.

// NAL unit types (H.264 Table 7-1) the package looks at.
const (
	nalSlice    = 1 // coded slice of a non-IDR picture
	nalSliceDPA = 2 // data partitions A..C (Extended profile only)
	nalSliceDPC = 4
	nalIDR      = 5 // coded slice of an IDR picture
	nalSPS      = 7
	nalPPS      = 8
)

// nextNAL returns the first NAL unit in b (without its start code or
// trailing zero bytes) and the rest of b after it. ok is false when b holds
// no further start code. Bytes before the first start code are skipped.
func nextNAL(b []byte) (nal, rest []byte, ok bool) {
	start := startCode(b)
	if start < 0 {
		return nil, nil, false
	}
	b = b[start:]
	end := len(b)
	next := startCode(b)
	if next >= 0 {
		end = next - 3 // the 00 00 01 that begins the next unit
	}
	nal = b[:end]
	// Trailing zeros (trailing_zero_8bits, the first 00 of a 4-byte start
	// code) are not part of the unit.
	for len(nal) > 0 && nal[len(nal)-1] == 0 {
		nal = nal[:len(nal)-1]
	}
	if next < 0 {
		return nal, nil, true
	}
	return nal, b[end:], true
}

// startCode returns the index just after the first 00 00 01 in b, or -1.
func startCode(b []byte) int {
	for i := 0; i+2 < len(b); {
		switch {
		case b[i+2] > 1:
			i += 3
		case b[i+2] == 1 && b[i+1] == 0 && b[i] == 0:
			return i + 3
		default:
			i++
		}
	}
	return -1
}

// IsKeyFrame reports whether annexB (an access unit, or any run of NAL
// units, with Annex-B start codes) contains a slice of an IDR picture
// (NAL unit type 5), i.e. whether a decoder can start there.
func IsKeyFrame(annexB []byte) bool {
	for nal, rest, ok := nextNAL(annexB); ok; nal, rest, ok = nextNAL(rest) {
		if len(nal) > 0 && nal[0]&0x1f == nalIDR {
			return true
		}
	}
	return false
}

// bitReader reads the RBSP of one NAL unit (the bytes after its header),
// skipping emulation-prevention bytes (00 00 03) on the fly. Reading past
// the end sets err instead of returning zeros.
type bitReader struct {
	b     []byte
	pos   int // next byte of b
	cur   byte
	nbits int // bits left in cur
	zeros int // consecutive zero bytes just read
	err   bool
}

func (r *bitReader) nextByte() bool {
	if r.pos >= len(r.b) {
		r.err = true
		return false
	}
	c := r.b[r.pos]
	r.pos++
	if r.zeros >= 2 && c == 3 {
		r.zeros = 0
		if r.pos >= len(r.b) {
			r.err = true
			return false
		}
		c = r.b[r.pos]
		r.pos++
	}
	if c == 0 {
		r.zeros++
	} else {
		r.zeros = 0
	}
	r.cur, r.nbits = c, 8
	return true
}

// u reads n ≤ 32 bits.
func (r *bitReader) u(n int) uint32 {
	var v uint32
	for range n {
		if r.nbits == 0 && !r.nextByte() {
			return 0
		}
		r.nbits--
		v = v<<1 | uint32(r.cur>>r.nbits&1)
	}
	return v
}

func (r *bitReader) flag() bool { return r.u(1) == 1 }

// ue reads an Exp-Golomb code; codes longer than 32 bits (values past
// 2^32-2, never valid for the fields read here) set err.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.u(1) == 0 {
		if r.err {
			return 0
		}
		zeros++
		if zeros > 31 {
			r.err = true
			return 0
		}
	}
	return (1<<zeros - 1) + r.u(zeros)
}

// se reads a signed Exp-Golomb code.
func (r *bitReader) se() int32 {
	k := r.ue()
	if k&1 == 1 {
		return int32((k + 1) / 2)
	}
	return -int32(k / 2)
}

// spsInfo is what the decoder keeps of a sequence parameter set.
type spsInfo struct {
	valid               bool
	separateColourPlane bool
	gapsAllowed         bool // gaps_in_frame_num_value_allowed_flag
	log2MaxFrameNum     uint8
	// codedWidth and codedHeight are the decoded picture size before
	// cropping (what the decoder allocates); width and height after.
	codedWidth, codedHeight int
	width, height           int
}

// parseSPS parses a sequence parameter set NAL unit (header included) up
// to the frame cropping fields (H.264 §7.3.2.1.1).
func parseSPS(nal []byte) (id int, s spsInfo, ok bool) {
	r := bitReader{b: nal[1:]}
	profile := r.u(8)
	r.u(16) // constraint flags, level_idc
	id = int(r.ue())
	if id > 31 {
		return 0, s, false
	}
	chromaFormat := uint32(1)
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		chromaFormat = r.ue()
		if chromaFormat > 3 {
			return 0, s, false
		}
		if chromaFormat == 3 {
			s.separateColourPlane = r.flag()
		}
		if r.ue() > 6 || r.ue() > 6 { // bit depths
			return 0, s, false
		}
		// qpprime_y_zero_transform_bypass_flag, then
		// seq_scaling_matrix_present_flag.
		r.u(1)
		if r.flag() {
			n := 8
			if chromaFormat == 3 {
				n = 12
			}
			for i := range n {
				if r.flag() {
					size := 16
					if i >= 6 {
						size = 64
					}
					last, next := int32(8), int32(8)
					for range size {
						if next != 0 {
							d := r.se()
							if d < -128 || d > 127 {
								return 0, s, false
							}
							next = (last + d + 256) % 256
						}
						if next != 0 {
							last = next
						}
					}
				}
			}
		}
	}
	log2MaxFrameNum := r.ue() + 4
	if log2MaxFrameNum > 16 {
		return 0, s, false
	}
	s.log2MaxFrameNum = uint8(log2MaxFrameNum)
	switch r.ue() { // pic_order_cnt_type
	case 0:
		if r.ue() > 12 { // log2_max_pic_order_cnt_lsb_minus4
			return 0, s, false
		}
	case 1:
		r.u(1)
		r.se()
		r.se()
		n := r.ue()
		if n > 255 {
			return 0, s, false
		}
		for range n {
			r.se()
		}
	case 2:
	default:
		return 0, s, false
	}
	r.ue() // max_num_ref_frames
	s.gapsAllowed = r.flag()
	wMbs := r.ue() + 1
	hUnits := r.ue() + 1
	frameMbsOnly := r.flag()
	if !frameMbsOnly {
		r.u(1) // mb_adaptive_frame_field_flag
	}
	r.u(1) // direct_8x8_inference_flag
	var cl, cr, ct, cb uint32
	if r.flag() {
		cl, cr, ct, cb = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.flag() { // vui_parameters_present_flag
		skipVUI(&r)
	}
	// A whole SPS ends with its stop bit after the VUI; one cut short
	// (a lost packet) runs out of bits first.
	if r.err || wMbs > 1024 || hUnits > 1024 {
		return 0, s, false
	}
	fieldFactor := uint32(1)
	if !frameMbsOnly {
		fieldFactor = 2
	}
	s.codedWidth = int(wMbs * 16)
	s.codedHeight = int(hUnits * 16 * fieldFactor)
	// Crop units (Table 6-1, equations 7-19..7-22).
	cropX, cropY := uint32(1), fieldFactor
	if chromaFormat != 0 && !s.separateColourPlane {
		if chromaFormat == 1 || chromaFormat == 2 {
			cropX = 2
		}
		if chromaFormat == 1 {
			cropY = 2 * fieldFactor
		}
	}
	cw, ch := uint64(cl+cr)*uint64(cropX), uint64(ct+cb)*uint64(cropY)
	if cw >= uint64(s.codedWidth) || ch >= uint64(s.codedHeight) {
		return 0, s, false
	}
	s.width = s.codedWidth - int(cw)
	s.height = s.codedHeight - int(ch)
	s.valid = true
	return id, s, true
}

// skipVUI reads past vui_parameters (H.264 §E.1.1); r.err is set when the
// data ends first.
func skipVUI(r *bitReader) {
	if r.flag() { // aspect_ratio_info_present_flag
		if r.u(8) == 255 { // Extended_SAR
			r.u(32)
		}
	}
	if r.flag() { // overscan_info_present_flag
		r.u(1)
	}
	if r.flag() { // video_signal_type_present_flag
		r.u(4)
		if r.flag() { // colour_description_present_flag
			r.u(24)
		}
	}
	if r.flag() { // chroma_loc_info_present_flag
		r.ue()
		r.ue()
	}
	if r.flag() { // timing_info_present_flag
		r.u(32)
		r.u(32)
		r.u(1)
	}
	nalHRD := r.flag()
	if nalHRD {
		skipHRD(r)
	}
	vclHRD := r.flag()
	if vclHRD {
		skipHRD(r)
	}
	if nalHRD || vclHRD {
		r.u(1) // low_delay_hrd_flag
	}
	r.u(1)        // pic_struct_present_flag
	if r.flag() { // bitstream_restriction_flag
		r.u(1)
		for range 6 {
			r.ue()
		}
	}
}

// skipHRD reads past hrd_parameters (H.264 §E.1.2).
func skipHRD(r *bitReader) {
	n := r.ue() + 1 // cpb_cnt_minus1
	if n > 32 {
		r.err = true
		return
	}
	r.u(8) // bit_rate_scale, cpb_size_scale
	for range n {
		r.ue()
		r.ue()
		r.u(1)
	}
	r.u(20) // four 5-bit lengths and delays
}

// parsePPS returns a picture parameter set's own id and the id of the
// sequence parameter set it refers to (H.264 §7.3.2.2).
func parsePPS(nal []byte) (id, spsID int, ok bool) {
	r := bitReader{b: nal[1:]}
	id, spsID = int(r.ue()), int(r.ue())
	r.u(2)           // entropy_coding_mode_flag, bottom_field_pic_order_in_frame_present_flag
	if r.ue() != 0 { // num_slice_groups_minus1: FMO, which libavcodec does not decode
		return 0, 0, false
	}
	r.ue() // num_ref_idx_l0_default_active_minus1
	r.ue() // num_ref_idx_l1_default_active_minus1
	r.u(3) // weighted_pred_flag, weighted_bipred_idc
	r.se() // pic_init_qp_minus26
	r.se() // pic_init_qs_minus26
	r.se() // chroma_qp_index_offset
	r.u(3) // deblocking, constrained intra, redundant_pic_cnt_present flags
	if r.err || id > 255 || spsID > 31 {
		return 0, 0, false
	}
	return id, spsID, true
}

// sliceHeader is the start of a slice header (H.264 §7.3.3).
type sliceHeader struct {
	ppsID    int
	frameNum uint32
}

// parseSliceHeader reads a slice's header up to frame_num, which needs the
// parameter sets: ppsSPS maps a PPS id to its SPS id plus one (0: unknown).
func parseSliceHeader(nal []byte, ppsSPS *[256]uint8, sps *[32]spsInfo) (h sliceHeader, s *spsInfo, ok bool) {
	r := bitReader{b: nal[1:]}
	r.ue() // first_mb_in_slice
	if r.ue() > 9 {
		return h, nil, false
	}
	pps := r.ue()
	if r.err || pps > 255 || ppsSPS[pps] == 0 {
		return h, nil, false
	}
	h.ppsID = int(pps)
	s = &sps[ppsSPS[pps]-1]
	if !s.valid {
		return h, nil, false
	}
	if s.separateColourPlane {
		r.u(2)
	}
	h.frameNum = r.u(int(s.log2MaxFrameNum))
	if r.err {
		return h, nil, false
	}
	return h, s, true
}
