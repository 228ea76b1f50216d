// Package testkit is the home of the tooling the product's tests use
// (cmd/mcu's end-to-end tests and others): scripted WebRTC participants
// (pionclient), shaped links (netshape), lossy relays (udprelay) and plots
// of test traces (svgplot), one subpackage each. A helper the benchmarks
// use as well belongs here too; one used only by the benchmarks belongs in
// bench/internal instead. Nothing here is imported by product code.
package testkit
