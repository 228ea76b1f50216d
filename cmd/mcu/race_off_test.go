//go:build !race

package main

// raceDetector: the tests run under the race detector, which slows the
// server and its clients several times over.
const raceDetector = false
