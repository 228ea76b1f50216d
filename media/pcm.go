package media

// silentPeak is the largest sample a frame may hold and still count as
// silence (-84 dBov): digital silence, or a codec's ±1 dither of it.
const silentPeak = 2

// Silent reports whether PCM is silence: no sample beyond ±2 (-84 dBov).
// The room stops decoding a sender's repeated packet that decoded to this,
// and the benchmark's codec floor applies the same rule.
func Silent(pcm []int16) bool {
	for _, s := range pcm {
		if s > silentPeak || s < -silentPeak {
			return false
		}
	}
	return true
}
