package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// pagePerson is one entry of the page's participant list (mcuParticipants).
type pagePerson struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Talking bool   `json:"talking"`
	Muted   bool   `json:"muted"`
	Sharing bool   `json:"sharing"`
}

// openPage opens the page in a browser and joins room as name.
func openPage(t *testing.T, ctx context.Context, url, room, name string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.SetValue(chromedp.ID("room"), room),
		chromedp.SetValue(chromedp.ID("name"), name),
		chromedp.Click(chromedp.ID("join")),
		chromedp.WaitVisible(chromedp.ID("call")),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls f every 200 ms until it reports true, failing with its
// last detail after within.
func eventually(t *testing.T, within time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	var detail string
	for end := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
		var ok bool
		if ok, detail = f(); ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: never; last %s", what, detail)
		}
	}
}

// TestBrowserScreenShare: one Chromium shares its (fake) screen with
// "Share screen"; a second Chromium sees the presentation layout
// (pixel samples of the share large on the left, the cameras in the
// column), its participant list shows everyone's names, who talks and who
// shares (DOM), and its layout picker's choice reaches the room (gRPC
// GetLayout). With MCU_SCREENSHOTS=dir it saves the second page as PNG.
func TestBrowserScreenShare(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two Chromiums")
	}
	const W, H = 1280, 720
	s := startServer(t, func(c *Config) {
		c.Canvas = fmt.Sprintf("%dx%d@10", W, H)
		c.Ladder = fmt.Sprintf("%dx%d@10:2500k", W, H)
	})
	// A third person, by pion: a green camera and a steady voice.
	joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "deck", Name: "Carol", ToneHz: 440,
		Video: &pionclient.VideoOptions{Y: green.y, U: green.u, V: green.v, FPS: 10}, RecvVideo: true})

	// With fake devices Chromium answers getDisplayMedia with its fake
	// display (a 16:9 test pattern), whatever would be picked.
	page := browser(t)
	openPage(t, page, s.URL+"/", "deck", "Alice")

	viewer := browser(t, chromedp.WindowSize(1400, 1000))
	openPage(t, viewer, s.URL+"/", "deck", "Bob")

	if err := chromedp.Do(page, chromedp.Click(chromedp.ID("share"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the sharer's page sharing", func() (bool, string) {
		label, err := chromedp.Run(page, chromedp.Text(chromedp.ID("share")))
		status, _ := chromedp.Run(page, chromedp.Text(chromedp.ID("status")))
		return err == nil && label == "Stop sharing", label + " / " + status
	})

	// The viewer's canvas: the share (16:9) large on the left with black
	// bars above and below it; the cameras in the column on the right,
	// Carol's green first; black above the column.
	regs, _ := compositor.Regions(compositor.Presentation(), W, H, 4)
	share, carol := regs[0].Rect, regs[1].Rect
	probes := [][2]int{
		{share.X + share.W/2, share.Y + share.H/2}, // the share's picture
		{share.X + share.W/2, share.Y + 30},        // the bar above it
		{carol.X + carol.W/2, carol.Y + carol.H/2}, // Carol's camera
		{carol.X + carol.W/2, carol.Y - 40},        // above the column
	}
	eventually(t, 30*time.Second, "the presentation layout on the viewer's canvas", func() (bool, string) {
		rgb := make([][]int, len(probes))
		for i, p := range probes {
			var err error
			if rgb[i], err = chromedp.Run(viewer, chromedp.Evaluate[[]int](fmt.Sprintf(`(() => {
				const v = document.getElementById("remote");
				return v.videoWidth === %d ? window.mcuSample(%d, %d) : [];
			})()`, W, p[0], p[1]))); err != nil || len(rgb[i]) != 3 {
				return false, fmt.Sprint(rgb, err)
			}
		}
		dark := func(p []int) bool { return p[0]+p[1]+p[2] < 60 }
		lit := func(p []int) bool { return p[0]+p[1]+p[2] > 120 }
		pionGreen := func(p []int) bool { return p[1] > 200 && p[0] < 70 && p[2] < 70 }
		return lit(rgb[0]) && dark(rgb[1]) && pionGreen(rgb[2]) && dark(rgb[3]), fmt.Sprint("share, bar, Carol, above: ", rgb)
	})

	// The viewer's list: the three names, Carol talking, Alice sharing.
	eventually(t, 15*time.Second, "the viewer's participant list", func() (bool, string) {
		people, err := chromedp.Run(viewer, chromedp.Evaluate[[]pagePerson](`window.mcuParticipants()`))
		if err != nil {
			return false, err.Error()
		}
		var names []string
		talking, sharing := map[string]bool{}, map[string]bool{}
		for _, p := range people {
			names = append(names, p.Name)
			talking[p.Name], sharing[p.Name] = p.Talking, p.Sharing
		}
		slices.Sort(names)
		dom, _ := chromedp.Run(viewer, chromedp.Text(chromedp.ID("people")))
		ok := slices.Equal(names, []string{"Alice", "Bob", "Carol"}) && talking["Carol"] && sharing["Alice"] &&
			containsAll(dom, "Alice", "Bob (you)", "Carol", "talking", "sharing")
		return ok, fmt.Sprintf("%+v, list %q", people, dom)
	})

	if dir := os.Getenv("MCU_SCREENSHOTS"); dir != "" {
		png, err := chromedp.Run(viewer, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "page-presentation.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The viewer's device pickers list Chromium's fake devices, and its
	// room link names the room.
	ui, err := chromedp.Run(viewer, chromedp.Evaluate[[]string](`[String(document.getElementById("mic-select").options.length),
		String(document.getElementById("cam-select").options.length), document.getElementById("room-link").value]`))
	if err != nil || len(ui) != 3 || ui[0] == "0" || ui[1] == "0" || !strings.HasSuffix(ui[2], "/?room=deck") {
		t.Errorf("pickers and link: %q %v", ui, err)
	}

	// The viewer's layout picker (open server: everyone is an admin)
	// reaches the room.
	if hidden, err := chromedp.Run(viewer, chromedp.Evaluate[bool](`document.getElementById("layout-picker").hidden`)); err != nil || hidden {
		t.Fatalf("layout picker hidden (%v) for an admin", err)
	}
	if err := chromedp.Do(viewer, chromedp.SetValue(chromedp.ID("layout"), "speaker")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(viewer, chromedp.Evaluate[bool](`document.getElementById("layout").dispatchEvent(new Event("change"))`)); err != nil {
		t.Fatal(err)
	}
	api := dial(t, s)
	eventually(t, 5*time.Second, "the picked layout in the room", func() (bool, string) {
		l, err := api.GetLayout(context.Background(), &mcuv1.GetLayoutRequest{RoomId: "deck"})
		return err == nil && l.GetType() == mcuv1.LayoutType_LAYOUT_TYPE_SPEAKER, fmt.Sprint(l, err)
	})
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
