package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcu-project/mcu/api"
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/ladder"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonOptions print every field, zero or not, so scripts need not know
// the defaults.
var jsonOptions = protojson.MarshalOptions{EmitUnpopulated: true}

// writeJSON prints m as one line of JSON. protojson's whitespace is
// deliberately unstable; compacting it makes the output byte-stable.
func writeJSON(w io.Writer, m proto.Message) error {
	b, err := jsonOptions.Marshal(m)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func limitText(v uint32, zero string) string {
	if v == 0 {
		return zero
	}
	return strconv.FormatUint(uint64(v), 10)
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func canvasText(o *mcuv1.RoomOptions) string {
	return fmt.Sprintf("%dx%d@%d", o.GetWidth(), o.GetHeight(), o.GetFps())
}

func codecsText(o *mcuv1.RoomOptions) string { return dash(strings.Join(o.GetVideoCodecs(), ",")) }

func layoutTypeText(t mcuv1.LayoutType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "LAYOUT_TYPE_"))
}

// layoutText is a layout in a few words: "speaker", "custom (2 regions)".
func layoutText(l *mcuv1.Layout) string {
	t := layoutTypeText(l.GetType())
	if n := len(l.GetRegions()); n > 0 || l.GetType() == mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM {
		s := "s"
		if n == 1 {
			s = ""
		}
		t += fmt.Sprintf(" (%d region%s)", n, s)
	}
	return t
}

func fitText(f mcuv1.Fit) string {
	if f == mcuv1.Fit_FIT_COVER {
		return "cover"
	}
	return "contain"
}

func whoText(r *mcuv1.Region) string {
	switch s := r.GetSource().(type) {
	case *mcuv1.Region_ParticipantId:
		return s.ParticipantId
	case *mcuv1.Region_ActiveSpeaker:
		return "speaker"
	case *mcuv1.Region_Presentation:
		return "presentation"
	}
	return "next"
}

// regionText is a region in --region syntax.
func regionText(r *mcuv1.Region) string {
	return strings.Join([]string{num(r.GetX()), num(r.GetY()), num(r.GetW()), num(r.GetH()),
		strconv.Itoa(int(r.GetZ())), fitText(r.GetFit()), whoText(r)}, ",")
}

func printRooms(w io.Writer, rooms []*mcuv1.Room) error {
	if len(rooms) == 0 {
		_, err := fmt.Fprintln(w, "no rooms")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tPARTICIPANTS\tCANVAS\tCODECS\tLAYOUT\tSPEAKER\tNODE")
	for _, r := range rooms {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.GetId(), r.GetParticipants(), canvasText(r.GetOptions()),
			codecsText(r.GetOptions()), layoutText(r.GetLayout()), dash(r.GetActiveSpeaker()), dash(r.GetNode()))
	}
	return tw.Flush()
}

// printNodes lists the cluster's nodes with their load.
func printNodes(w io.Writer, nodes []*mcuv1.Node) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tSTRESS\tCPU\tTICK P99\tPARTICIPANTS\tROOMS\tSTATE\tURL")
	for _, n := range nodes {
		participants := strconv.FormatUint(uint64(n.GetParticipants()), 10)
		if n.GetParticipantCap() > 0 {
			participants += "/" + strconv.FormatUint(uint64(n.GetParticipantCap()), 10)
		}
		state := "up"
		if n.GetDraining() {
			state = "draining"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.0f%%\t%s\t%s\t%d\t%s\t%s\n", n.GetId(), n.GetStress(), 100*n.GetCpu(),
			n.GetTickLatenessP99().AsDuration().Round(100*time.Microsecond), participants, n.GetRooms(), state, n.GetUrl())
	}
	return tw.Flush()
}

func printRoom(w io.Writer, r *mcuv1.Room) error {
	o := r.GetOptions()
	tw := newTable(w)
	for _, kv := range [][2]string{
		{"room", r.GetId()},
		{"participants", strconv.FormatUint(uint64(r.GetParticipants()), 10)},
		{"canvas", canvasText(o)},
		{"video codecs", codecsText(o)},
		{"exclude self", yesNo(o.GetExcludeSelf())},
		{"max participants", limitText(o.GetMaxParticipants(), "unlimited")},
		{"max speakers", limitText(o.GetMaxSpeakers(), "all")},
		{"audio complexity", limitText(o.GetAudioComplexity(), "default (9)")},
		{"delete when empty", yesNo(o.GetDeleteWhenEmpty())},
		{"ladder", dash(ladder.Format(api.LadderFromProto(o.GetLadder())))},
		{"layout", layoutText(r.GetLayout())},
		{"speaker", dash(r.GetActiveSpeaker())},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.GetLayout().GetRegions()) > 0 {
		fmt.Fprintln(w)
		return printRegions(w, r.GetLayout().GetRegions())
	}
	return nil
}

// printLayout prints the layout's type and, for a custom layout, its
// regions.
func printLayout(w io.Writer, l *mcuv1.Layout) error {
	if _, err := fmt.Fprintln(w, layoutText(l)); err != nil {
		return err
	}
	if len(l.GetRegions()) == 0 {
		return nil
	}
	return printRegions(w, l.GetRegions())
}

func printRegions(w io.Writer, regions []*mcuv1.Region) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "REGION\tX\tY\tW\tH\tZ\tFIT\tWHO")
	for i, r := range regions {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", i+1, num(r.GetX()), num(r.GetY()), num(r.GetW()), num(r.GetH()),
			r.GetZ(), fitText(r.GetFit()), whoText(r))
	}
	return tw.Flush()
}

func printParticipants(w io.Writer, ps []*mcuv1.Participant) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "no participants")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tKIND\tAUDIO\tVIDEO\tTALKING\tLEVEL(dBov)\tBITRATE(kb/s)\tMUTED\tGAIN(dB)\tPINNED\tRECEIVING\tESTIMATE\tLOSS")
	for _, p := range ps {
		var muted []string
		if p.GetAudioMuted() {
			muted = append(muted, "audio")
		}
		if p.GetVideoMuted() {
			muted = append(muted, "video")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%d\t%s\t%+.1f\t%s\t%s\n",
			p.GetId(), dash(p.GetName()), dash(p.GetKind()),
			dash(strings.TrimPrefix(p.GetAudioCodec(), "audio/")), dash(strings.TrimPrefix(p.GetVideoCodec(), "video/")),
			yesNo(p.GetTalking()), p.GetLevelDbov(), (p.GetBitrateBps()+500)/1000,
			dash(strings.Join(muted, ",")), p.GetGainDb(), yesNo(p.GetPinned()), receptionText(p.GetVideo()))
	}
	return tw.Flush()
}

// receptionText is the RECEIVING, ESTIMATE and LOSS columns: "640x360@30
// (rung 1)\t450 kb/s (twcc)\t2.5%", dashes for a participant receiving no
// video.
func receptionText(v *mcuv1.VideoReception) string {
	if v == nil {
		return "-\t-\t-"
	}
	rung := "paused"
	if v.GetRung() >= 0 {
		rung = fmt.Sprintf("%dx%d@%d (rung %d)", v.GetWidth(), v.GetHeight(), v.GetFps(), v.GetRung())
	}
	est := "-"
	if v.GetEstimateSource() != "" {
		est = fmt.Sprintf("%s (%s)", kbps(v.GetEstimateBps()), v.GetEstimateSource())
	}
	return fmt.Sprintf("%s\t%s\t%.1f%%", rung, est, v.GetLoss()*100)
}

func kbps(bps uint64) string { return fmt.Sprintf("%d kb/s", (bps+500)/1000) }

// rungText is a rung number, "paused" for -1.
func rungText(r int32) string {
	if r < 0 {
		return "paused"
	}
	return strconv.Itoa(int(r))
}

func eventTypeText(t mcuv1.EventType) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(t.String(), "EVENT_TYPE_")), "_", "-")
}

// eventLine is "HH:MM:SS.mmm room participant type [details]", the time
// local.
func eventLine(ev *mcuv1.Event) string {
	line := fmt.Sprintf("%s %s %s %s", ev.GetTime().AsTime().Local().Format("15:04:05.000"),
		dash(ev.GetRoomId()), dash(ev.GetParticipantId()), eventTypeText(ev.GetType()))
	switch ev.GetType() {
	case mcuv1.EventType_EVENT_TYPE_TALKING_STARTED, mcuv1.EventType_EVENT_TYPE_TALKING_STOPPED:
		line += fmt.Sprintf(" level %.1f dBov", ev.GetLevelDbov())
	case mcuv1.EventType_EVENT_TYPE_DTMF:
		line += " digit " + ev.GetDigit()
	case mcuv1.EventType_EVENT_TYPE_LAYOUT_CHANGED:
		if ev.GetViewerId() != "" {
			line += " viewer " + ev.GetViewerId()
		}
	case mcuv1.EventType_EVENT_TYPE_RUNG_CHANGED:
		line += fmt.Sprintf(" %s -> %s (est %s)", rungText(ev.GetFromRung()), rungText(ev.GetRung()), kbps(ev.GetEstimateBps()))
	case mcuv1.EventType_EVENT_TYPE_EGRESS_STARTED, mcuv1.EventType_EVENT_TYPE_EGRESS_UPDATED, mcuv1.EventType_EVENT_TYPE_EGRESS_ENDED:
		line += egressEventText(ev.GetEgress())
	}
	return line
}
