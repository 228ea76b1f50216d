package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
)

func recordStart(fs *flag.FlagSet) func([]string) (action, error) {
	format := fs.String("format", "webm", "container: `webm` (VP8 + Opus), mp4 (fragmented, H.264 + Opus), ogg (Opus alone)")
	path := fs.String("path", "", "file `path` inside the server's -record-dir (default: named after the room and the time)")
	return func(args []string) (action, error) {
		req := &mcuv1.StartEgressRequest{RoomId: args[0], Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: *format, Path: *path}}}
		return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Egress, error) {
			return c.StartEgress(ctx, req)
		}, func(w io.Writer, e *mcuv1.Egress) error {
			_, err := fmt.Fprintf(w, "recording %s of %s to %s\n", e.GetId(), e.GetRoomId(), e.GetPath())
			return err
		}), nil
	}
}

func recordStop(args []string) (action, error) {
	req := &mcuv1.StopEgressRequest{EgressId: args[0]}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Egress, error) {
		return c.StopEgress(ctx, req)
	}, func(w io.Writer, e *mcuv1.Egress) error {
		_, err := fmt.Fprintf(w, "recording %s stopped: %s, %s, %d bytes%s\n", e.GetId(), e.GetPath(), egressDuration(e), e.GetBytes(), egressError(e))
		return err
	}), nil
}

func recordList(args []string) (action, error) {
	req := &mcuv1.ListEgressRequest{}
	if len(args) == 1 {
		req.RoomId = args[0]
	}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.ListEgressResponse, error) {
		return c.ListEgress(ctx, req)
	}, func(w io.Writer, r *mcuv1.ListEgressResponse) error { return printEgress(w, r.GetEgress()) }), nil
}

func egressStatusText(s mcuv1.EgressStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "EGRESS_STATUS_"))
}

func egressDuration(e *mcuv1.Egress) string {
	return e.GetDuration().AsDuration().Round(time.Millisecond).String()
}

func egressError(e *mcuv1.Egress) string {
	if e.GetError() == "" {
		return ""
	}
	return "; error: " + e.GetError()
}

func printEgress(w io.Writer, es []*mcuv1.Egress) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tROOM\tSTATUS\tFORMAT\tDURATION\tBYTES\tPATH\tERROR")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.GetId(), e.GetRoomId(), egressStatusText(e.GetStatus()), e.GetFile().GetFormat(),
			egressDuration(e), e.GetBytes(), e.GetPath(), dash(e.GetError()))
	}
	return tw.Flush()
}

// egressEventText is what an egress event adds to its line.
func egressEventText(e *mcuv1.Egress) string {
	return fmt.Sprintf(" %s %s %s %d bytes%s", e.GetId(), e.GetPath(), egressDuration(e), e.GetBytes(), egressError(e))
}
