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

func streamStart(args []string) (action, error) {
	req := &mcuv1.StartEgressRequest{RoomId: args[0], Output: &mcuv1.StartEgressRequest_Stream{Stream: &mcuv1.StreamOutput{Url: args[1]}}}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Egress, error) {
		return c.StartEgress(ctx, req)
	}, func(w io.Writer, e *mcuv1.Egress) error {
		_, err := fmt.Fprintf(w, "streaming %s of %s to %s\n", e.GetId(), e.GetRoomId(), e.GetStream().GetUrl())
		return err
	}), nil
}

func recordStop(args []string) (action, error) {
	req := &mcuv1.StopEgressRequest{EgressId: args[0]}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Egress, error) {
		return c.StopEgress(ctx, req)
	}, func(w io.Writer, e *mcuv1.Egress) error {
		_, err := fmt.Fprintf(w, "%s stopped: %s, %s, %d bytes%s\n", e.GetId(), egressTarget(e), egressDuration(e), e.GetBytes(), egressError(e))
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

// egressStatusText is the status, and a live stream's connection.
func egressStatusText(e *mcuv1.Egress) string {
	s := strings.ToLower(strings.TrimPrefix(e.GetStatus().String(), "EGRESS_STATUS_"))
	if e.GetStream() != nil && e.GetStatus() == mcuv1.EgressStatus_EGRESS_STATUS_ACTIVE {
		if e.GetConnected() {
			s += ", connected"
		} else {
			s += ", connecting"
		}
		if e.GetRetries() > 0 {
			s += fmt.Sprintf(" (%d retries)", e.GetRetries())
		}
	}
	return s
}

// egressTarget is where it goes: the file, or the stream's URL.
func egressTarget(e *mcuv1.Egress) string {
	if e.GetStream() != nil {
		return e.GetStream().GetUrl()
	}
	return e.GetPath()
}

// egressFormat is the file's format, or "rtmp".
func egressFormat(e *mcuv1.Egress) string {
	if e.GetStream() != nil {
		return "rtmp"
	}
	return e.GetFile().GetFormat()
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
	fmt.Fprintln(tw, "ID\tROOM\tSTATUS\tFORMAT\tDURATION\tBYTES\tTO\tERROR")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.GetId(), e.GetRoomId(), egressStatusText(e), egressFormat(e),
			egressDuration(e), e.GetBytes(), egressTarget(e), dash(e.GetError()))
	}
	return tw.Flush()
}

// egressEventText is what an egress event adds to its line.
func egressEventText(e *mcuv1.Egress) string {
	return fmt.Sprintf(" %s %s %s %s %d bytes%s", e.GetId(), egressStatusText(e), egressTarget(e), egressDuration(e), e.GetBytes(), egressError(e))
}
