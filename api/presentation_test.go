package api_test

import (
	"context"
	"testing"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/room"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestPresentationAPI: the presentation layout and a custom region bound
// to the presentation round-trip; the label and highlight options are
// kept; ShowPresentation refuses a stranger with NotFound.
func TestPresentationAPI(t *testing.T) {
	ctx := context.Background()
	c, _ := startServer(t, room.DefaultOptions(), nil)
	r, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "deck", Options: &mcuv1.RoomOptions{NoLabels: true, NoHighlight: true}})
	if err != nil {
		t.Fatal(err)
	}
	if o := r.GetOptions(); !o.GetNoLabels() || !o.GetNoHighlight() {
		t.Errorf("options %v: labels and highlight not off", o)
	}
	for _, l := range []*mcuv1.Layout{
		{Type: mcuv1.LayoutType_LAYOUT_TYPE_PRESENTATION},
		{Type: mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM, Regions: []*mcuv1.Region{
			{W: 0.75, H: 1, Fit: mcuv1.Fit_FIT_CONTAIN, Source: &mcuv1.Region_Presentation{Presentation: true}},
			{X: 0.75, W: 0.25, H: 0.25, Fit: mcuv1.Fit_FIT_COVER, Source: &mcuv1.Region_NextFree{NextFree: true}},
		}},
	} {
		got, err := c.SetLayout(ctx, &mcuv1.SetLayoutRequest{RoomId: "deck", Layout: l})
		if err != nil || !proto.Equal(got, l) {
			t.Errorf("set %v: got %v, %v", l, got, err)
		}
	}
	_, err = c.ShowPresentation(ctx, &mcuv1.ShowPresentationRequest{RoomId: "deck", ParticipantId: "nobody"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("showing a stranger's share: %v, want NotFound", err)
	}
	if _, err := c.ShowPresentation(ctx, &mcuv1.ShowPresentationRequest{RoomId: "deck"}); err != nil {
		t.Errorf("back to the latest share: %v", err)
	}
}
