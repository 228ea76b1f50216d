package svgplot

import (
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	out := Line(Chart{XLabel: "s", YLabel: "kb/s <est>"}, []Series{
		{Name: "a", Colour: "#f00", X: []float64{0, 1, 2}, Y: []float64{1, 2, 3}},
		{Name: "b", Colour: "#00f", X: []float64{0, 1, 2, 3}, Y: []float64{1, -1, 2, 2}, Step: true},
	})
	if !strings.HasPrefix(out, "<svg") || !strings.HasSuffix(out, "</svg>\n") {
		t.Fatal("not an SVG document")
	}
	// One polyline for a, two for b (split at its gap).
	if n := strings.Count(out, "<polyline"); n != 3 {
		t.Fatalf("%d polylines, want 3", n)
	}
	if !strings.Contains(out, "kb/s &lt;est&gt;") {
		t.Fatal("label not escaped")
	}
}
