package main

import "testing"

// TestFloorsAreSane: the floors are positive and grow with the work asked.
func TestFloorsAreSane(t *testing.T) {
	if testing.Short() {
		t.Skip("times real codecs")
	}
	a2, a8 := audioFloor(2, -1), audioFloor(8, -1)
	v1, v4 := videoFloor(1, 320, 180, 1, 320, 180), videoFloor(4, 320, 180, 4, 320, 180)
	t.Logf("audio 2+2: %.3f, 8+8: %.3f; video 1+1: %.3f, 4+4: %.3f CPU-s per media-second", a2, a8, v1, v4)
	if a2 <= 0 || a8 <= a2 || v1 <= 0 || v4 <= v1 {
		t.Fatalf("floors do not grow with the work: %v %v %v %v", a2, a8, v1, v4)
	}
}
