package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/media"
	"google.golang.org/grpc/codes"
)

// ffmpeg and ffprobe (Debian's) check the recordings independently.
func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps-test)", tool)
		}
	}
}

// ffprobe runs ffprobe -v error with args on path and returns its output.
func ffprobe(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", append(append([]string{"-v", "error"}, args...), path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %v %s: %v\n%s", args, path, err, out)
	}
	return strings.TrimSpace(string(out))
}

// probeStreams returns the codec names of the file's streams, in order.
func probeStreams(t *testing.T, path string) []string {
	return strings.Fields(ffprobe(t, path, "-show_entries", "stream=codec_name", "-of", "csv=p=0"))
}

func probeFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimRight(strings.TrimSpace(s), ","), 64)
	if err != nil {
		t.Fatalf("ffprobe said %q: %v", s, err)
	}
	return v
}

// decode runs ffmpeg -v error over the file's stream (a: audio, v:
// video) from start for length seconds and returns the raw output: mono
// 48 kHz s16le PCM, or I420 pictures (one per frame in the file). Any
// decode error fails the test.
func decode(t *testing.T, path, stream string, start, length float64) []byte {
	t.Helper()
	args := []string{"-v", "error", "-xerror"}
	if start > 0 {
		// (From the start, no seek: a seek lands on a keyframe, and a
		// stream's sound before it would be dropped.)
		args = append(args, "-ss", fmt.Sprint(start))
	}
	args = append(args, "-i", path, "-t", fmt.Sprint(length), "-map", "0:"+stream)
	if stream == "a" {
		args = append(args, "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	} else {
		// One picture per frame in the file: without passthrough,
		// ffmpeg repeats pictures to fill a variable frame rate.
		args = append(args, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg decoding %s of %s: %v\n%s", stream, path, err, stderr.String())
	}
	return stdout.Bytes()
}

func pcm16(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out
}

// lastPicture is the last w×h I420 picture of raw.
func lastPicture(t *testing.T, raw []byte, w, h int) *media.VideoFrame {
	t.Helper()
	size := w * h * 3 / 2
	if len(raw) < size {
		t.Fatalf("no %dx%d picture decoded (%d bytes)", w, h, len(raw))
	}
	return rawPicture(raw[len(raw)/size*size-size:], w, h)
}

// rawPicture is the w×h I420 picture at the start of b.
func rawPicture(b []byte, w, h int) *media.VideoFrame {
	return &media.VideoFrame{Width: w, Height: h, Y: b[:w*h], U: b[w*h : w*h*5/4], V: b[w*h*5/4 : w*h*3/2], StrideY: w, StrideU: w / 2, StrideV: w / 2}
}

// recordServer is a server with the video tests' small canvas, one rung,
// recording to dir ("": a temporary folder).
func recordServer(t *testing.T, dir string) *testServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	return startServer(t, func(c *Config) {
		c.Canvas = fmt.Sprintf("%dx%d@%d", canvasW, canvasH, canvasFPS)
		c.Ladder = "off"
		c.RecordDir = dir
	})
}

// recordTones are the two participants' tones; each is heard in the
// file at the level sent, as the full mix has everyone.
var recordTones = []float64{440, 660}

const recordAmp = 8192

// joinRecorded joins red (440 Hz) and blue (660 Hz) into room, each
// receiving the canvas, and waits until both see both.
func joinRecorded(t *testing.T, s *testServer, room string) []*pionclient.Client {
	t.Helper()
	var clients []*pionclient.Client
	for i, col := range []colour{red, blue} {
		clients = append(clients, joinReady(t, pionclient.Options{BaseURL: s.URL, Room: room, Name: col.name, ToneHz: recordTones[i], ToneAmp: recordAmp,
			Video: &pionclient.VideoOptions{Y: col.y, U: col.u, V: col.v}, RecvVideo: true}))
	}
	waitCanvas(t, clients, func(int) []*colour { return cols(red, blue) }, 15*time.Second)
	return clients
}

// checkRecording checks a finished recording of a joinRecorded room
// that lasted about wall: its streams (codecs, e.g. "vp8,opus"), its
// duration, both cameras in their cells and both tones at the level sent.
func checkRecording(t *testing.T, path, codecs string, wall time.Duration) {
	t.Helper()
	if got := probeStreams(t, path); strings.Join(got, ",") != codecs {
		t.Fatalf("streams %v, want %s", got, codecs)
	}
	d := probeFloat(t, ffprobe(t, path, "-show_entries", "format=duration", "-of", "csv=p=0"))
	t.Logf("file duration %.3f s for %.3f s of wall time", d, wall.Seconds())
	if diff := d - wall.Seconds(); diff > 0.02*wall.Seconds() || diff < -0.02*wall.Seconds() {
		t.Errorf("duration %.3f s, want %.3f s ±2 %%", d, wall.Seconds())
	}
	pic := lastPicture(t, decode(t, path, "v", d/2, 1), canvasW, canvasH)
	if ok, got := cellsMatch(pic, cols(red, blue)); !ok {
		t.Errorf("the recording's canvas at %.1f s:%s, want red and blue", d/2, got)
	}
	pcm := pcm16(decode(t, path, "a", 2, d-3))
	if len(pcm) < int((d-4)*48000) {
		t.Fatalf("only %d samples of audio decoded", len(pcm))
	}
	for _, hz := range recordTones {
		level := toneLevel(pcm, hz, recordAmp)
		t.Logf("the recording has %.0f Hz at %+.2f dB re sent", hz, level)
		if level < -3 || level > 3 {
			t.Errorf("%.0f Hz at %+.2f dB in the recording, want the level sent ±3 dB", hz, level)
		}
	}
}

// TestRecordWebM records a two-person room for 10 s over gRPC and
// checks the file with ffprobe and ffmpeg, the egress events, and that
// the participants' canvases, tones and the room's encoder count are
// what they were without the recorder.
func TestRecordWebM(t *testing.T) {
	if testing.Short() {
		t.Skip("records 10 s")
	}
	needFFmpeg(t)
	dir := t.TempDir()
	s := recordServer(t, dir)
	api := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events, err := api.StreamEvents(ctx, &mcuv1.StreamEventsRequest{RoomId: "rec"})
	if err != nil {
		t.Fatal(err)
	}
	clients := joinRecorded(t, s, "rec")
	encoders := s.metric(t, "mcu_video_encoders")

	// Bad requests change nothing.
	for _, c := range []struct {
		req  *mcuv1.StartEgressRequest
		want codes.Code
	}{
		{&mcuv1.StartEgressRequest{RoomId: "rec", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "webm", Path: "../escape.webm"}}}, codes.InvalidArgument},
		{&mcuv1.StartEgressRequest{RoomId: "rec", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "webm", Path: "/tmp/abs.webm"}}}, codes.InvalidArgument},
		{&mcuv1.StartEgressRequest{RoomId: "rec", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "avi"}}}, codes.InvalidArgument},
		{&mcuv1.StartEgressRequest{RoomId: "rec"}, codes.InvalidArgument},
		{&mcuv1.StartEgressRequest{RoomId: "nosuchroom", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "webm"}}}, codes.NotFound},
		{&mcuv1.StartEgressRequest{RoomId: "rec", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "webm", Path: "afile/x.webm"}}}, codes.FailedPrecondition},
	} {
		if c.req.GetFile().GetPath() == "afile/x.webm" {
			if err := os.WriteFile(filepath.Join(dir, "afile"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := api.StartEgress(ctx, c.req); code(err) != c.want {
			t.Errorf("StartEgress(%v): %v, want %v", c.req, err, c.want)
		}
	}
	if _, err := api.StopEgress(ctx, &mcuv1.StopEgressRequest{EgressId: "EG_nope"}); code(err) != codes.NotFound {
		t.Errorf("StopEgress of an unknown egress: %v, want NotFound", err)
	}

	eg, err := api.StartEgress(ctx, &mcuv1.StartEgressRequest{RoomId: "rec", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "webm", Path: "sub/rec.webm"}}})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if want := filepath.Join(dir, "sub", "rec.webm"); eg.GetPath() != want || eg.GetStatus() != mcuv1.EgressStatus_EGRESS_STATUS_ACTIVE {
		t.Fatalf("started %v, want active at %s", eg, want)
	}
	if _, err := api.StartEgress(ctx, &mcuv1.StartEgressRequest{RoomId: "rec", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "webm", Path: "sub/rec.webm"}}}); code(err) != codes.AlreadyExists {
		t.Errorf("a second recording to the same file: %v, want AlreadyExists", err)
	}
	list, err := api.ListEgress(ctx, &mcuv1.ListEgressRequest{RoomId: "rec"})
	if err != nil || len(list.GetEgress()) != 1 || list.GetEgress()[0].GetId() != eg.GetId() {
		t.Fatalf("ListEgress: %v, %v", list, err)
	}

	// While it records, the participants get what they got before.
	time.Sleep(5 * time.Second)
	waitCanvas(t, clients, func(int) []*colour { return cols(red, blue) }, 5*time.Second)
	requireMixMinus(t, clients, recordTones, recordAmp, time.Now().Add(-2*time.Second), time.Now().Add(-time.Second))
	if got := s.metric(t, "mcu_video_encoders"); got != encoders {
		t.Errorf("%v video encoders while recording, %v before: the recorder should share the room's", got, encoders)
	}
	if n := len(mustParticipants(t, api, "rec")); n != 2 {
		t.Errorf("%d participants listed while recording, want 2 (the recorder is hidden)", n)
	}
	time.Sleep(time.Until(started.Add(10 * time.Second)))

	stopped, err := api.StopEgress(ctx, &mcuv1.StopEgressRequest{EgressId: eg.GetId()})
	wall := time.Since(started)
	if err != nil {
		t.Fatal(err)
	}
	if stopped.GetStatus() != mcuv1.EgressStatus_EGRESS_STATUS_ENDED || stopped.GetBytes() == 0 {
		t.Fatalf("stopped: %v", stopped)
	}
	st, err := os.Stat(eg.GetPath())
	if err != nil || uint64(st.Size()) != stopped.GetBytes() {
		t.Fatalf("file %v (%v), stop says %d bytes", st, err, stopped.GetBytes())
	}
	checkRecording(t, eg.GetPath(), "vp8,opus", wall)

	var seen []mcuv1.EventType
	for len(seen) == 0 || seen[len(seen)-1] != mcuv1.EventType_EVENT_TYPE_EGRESS_ENDED {
		ev, err := events.Recv()
		if err != nil {
			t.Fatalf("events after %v: %v", seen, err)
		}
		if ev.GetEgress() == nil {
			continue
		}
		seen = append(seen, ev.GetType())
		if ev.GetType() == mcuv1.EventType_EVENT_TYPE_EGRESS_ENDED {
			e := ev.GetEgress()
			if e.GetPath() != eg.GetPath() || e.GetBytes() != stopped.GetBytes() || e.GetDuration().AsDuration() < 9*time.Second || e.GetError() != "" {
				t.Errorf("egress_ended says %v", e)
			}
		}
	}
	if seen[0] != mcuv1.EventType_EVENT_TYPE_EGRESS_STARTED {
		t.Errorf("egress events %v, want started first", seen)
	}
}

func mustParticipants(t *testing.T, api mcuv1.MCUClient, room string) []*mcuv1.Participant {
	t.Helper()
	r, err := api.ListParticipants(context.Background(), &mcuv1.ListParticipantsRequest{RoomId: room})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetParticipants()
}

// startRecordingBinary runs the built binary recording to dir and
// starts a recording of a joinRecorded room.
func startRecordingBinary(t *testing.T, dir string, args ...string) (*binaryRun, *mcuv1.Egress) {
	t.Helper()
	b := startBinary(t, append([]string{"-record-dir", dir, "-canvas", fmt.Sprintf("%dx%d@%d", canvasW, canvasH, canvasFPS), "-ladder", "off"}, args...)...)
	s := &testServer{URL: "http://" + b.http, GRPC: b.grpc}
	joinRecorded(t, s, "rec")
	eg, err := dial(t, s).StartEgress(context.Background(), &mcuv1.StartEgressRequest{RoomId: "rec", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "webm"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b, eg
}

// TestRecordKilled: a server killed (SIGKILL) 5 s into a recording
// leaves a file ffmpeg decodes without error for at least 4 s, pictures
// and sound.
func TestRecordKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	needFFmpeg(t)
	b, eg := startRecordingBinary(t, t.TempDir())
	time.Sleep(5 * time.Second)
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = b.wait(t, 10*time.Second)
	audio := float64(len(decode(t, eg.GetPath(), "a", 0, 60))) / 2 / 48000
	raw := decode(t, eg.GetPath(), "v", 0, 60)
	last := probeFloat(t, lastLine(ffprobe(t, eg.GetPath(), "-select_streams", "v", "-show_entries", "packet=pts_time", "-of", "csv=p=0")))
	t.Logf("the killed recording decodes to %.2f s of audio and %d pictures up to %.2f s", audio, len(raw)/(canvasW*canvasH*3/2), last)
	if audio < 4 || last < 4 {
		t.Errorf("%.2f s of audio and pictures to %.2f s decoded, want at least 4 s", audio, last)
	}
	if ok, got := cellsMatch(lastPicture(t, raw, canvasW, canvasH), cols(red, blue)); !ok {
		t.Errorf("the killed recording's last picture:%s, want red and blue", got)
	}
}

func lastLine(s string) string { return s[strings.LastIndexByte(s, '\n')+1:] }

// TestRecordDrained: SIGTERM finishes the recording: the file has its
// duration and index, and seeks (ffprobe -read_intervals lands on the
// keyframe before the point asked for, not on the first).
func TestRecordDrained(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	needFFmpeg(t)
	b, eg := startRecordingBinary(t, t.TempDir(), "-drain-timeout", "1s")
	time.Sleep(8 * time.Second)
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.wait(t, 15*time.Second); err != nil {
		t.Fatalf("mcu exited with %v after SIGTERM", err)
	}
	d := probeFloat(t, ffprobe(t, eg.GetPath(), "-show_entries", "format=duration", "-of", "csv=p=0"))
	if d < 8 || d > 11 {
		t.Errorf("drained recording lasts %.3f s, want about 9 s", d)
	}
	head, err := os.ReadFile(eg.GetPath())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(head[:min(len(head), 100<<10)], []byte{0x1C, 0x53, 0xBB, 0x6B}) {
		t.Error("no Cues element at the front of the drained recording")
	}
	// A keyframe every 5 s: seeking to 7 s starts at the one near 5 s.
	first := probeFloat(t, strings.SplitN(ffprobe(t, eg.GetPath(), "-read_intervals", "7%+0.5", "-select_streams", "v", "-show_entries", "packet=pts_time", "-of", "csv=p=0"), "\n", 2)[0])
	t.Logf("drained recording: %.3f s; a seek to 7 s reads from %.3f s", d, first)
	if first < 4 || first > 7 {
		t.Errorf("a seek to 7 s reads from %.3f s, want the keyframe near 5 s", first)
	}
}

// TestRecordOgg records an audio-only room whose mix falls silent (sent
// as nothing: DTX) for 3 s: the Ogg file has the Opus mix, lasts the
// wall time, and the tones come back at the time they did, not 3 s early.
func TestRecordOgg(t *testing.T) {
	if testing.Short() {
		t.Skip("records 7 s")
	}
	needFFmpeg(t)
	s := startServer(t, func(c *Config) { c.RecordDir = t.TempDir() })
	clients := joinAll(t, s, "aud", recordTones, recordAmp)
	time.Sleep(time.Second)
	api := dial(t, s)
	eg, err := api.StartEgress(context.Background(), &mcuv1.StartEgressRequest{RoomId: "aud", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "ogg", Path: "aud.ogg"}}})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	time.Sleep(2 * time.Second)
	for _, c := range clients {
		c.SetTone(0)
	}
	time.Sleep(3 * time.Second)
	resumed := time.Since(started)
	for i, c := range clients {
		c.SetTone(recordTones[i])
	}
	time.Sleep(2 * time.Second)
	if _, err := api.StopEgress(context.Background(), &mcuv1.StopEgressRequest{EgressId: eg.GetId()}); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(started)
	path := eg.GetPath()
	if got := probeStreams(t, path); strings.Join(got, ",") != "opus" {
		t.Fatalf("streams %v, want opus", got)
	}
	d := probeFloat(t, ffprobe(t, path, "-show_entries", "format=duration", "-of", "csv=p=0"))
	t.Logf("file duration %.3f s for %.3f s of wall time", d, wall.Seconds())
	if diff := d - wall.Seconds(); diff > 0.02*wall.Seconds() || diff < -0.02*wall.Seconds() {
		t.Errorf("duration %.3f s, want %.3f s ±2 %%", d, wall.Seconds())
	}
	pcm := pcm16(decode(t, path, "a", 0, 60))
	for _, hz := range recordTones {
		if level := toneLevel(pcm[len(pcm)-48000:], hz, recordAmp); level < -3 || level > 3 {
			t.Errorf("%.0f Hz at %+.2f dB in the recording's last second, want the level sent ±3 dB", hz, level)
		}
	}
	// Where the tone comes back: the first 100 ms block after the
	// silence that holds it. The file's zero is the first packet of the
	// mix after the recorder joined, and the tones reach the mix after
	// the network and the jitter buffer: a few 100 ms either way. Had the
	// silence been dropped, they would come back 3 s early.
	const block = 4800
	back := -1.0
	for i := 3 * 48000; i+block <= len(pcm); i += block {
		if toneLevel(pcm[i:i+block], recordTones[0], recordAmp) > -10 {
			back = float64(i) / 48000
			break
		}
	}
	t.Logf("the tones come back at %.2f s in the file, %.2f s into the recording", back, resumed.Seconds())
	if back < resumed.Seconds()-0.4 || back > resumed.Seconds()+0.4 {
		t.Errorf("the tones come back at %.2f s in the file, %.2f s into the recording: the silence did not keep its length", back, resumed.Seconds())
	}
}

// TestRecordMP4 records a two-person VP8 room to fragmented MP4 for 10 s:
// the recorder gets an H.264 encoder of its own (one more encoder while
// it records), and the file holds H.264 + Opus, the cameras and the
// tones.
func TestRecordMP4(t *testing.T) {
	if testing.Short() {
		t.Skip("records 10 s")
	}
	needFFmpeg(t)
	s := recordServer(t, "")
	joinRecorded(t, s, "rec")
	api := dial(t, s)
	encoders := s.metric(t, "mcu_video_encoders")
	eg, err := api.StartEgress(context.Background(), &mcuv1.StartEgressRequest{RoomId: "rec", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "mp4", Path: "rec.mp4"}}})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	time.Sleep(5 * time.Second)
	if got := s.metric(t, "mcu_video_encoders"); got != encoders+1 {
		t.Errorf("%v video encoders while recording H.264 in a VP8 room, %v before: want one more", got, encoders)
	}
	time.Sleep(time.Until(started.Add(10 * time.Second)))
	if _, err := api.StopEgress(context.Background(), &mcuv1.StopEgressRequest{EgressId: eg.GetId()}); err != nil {
		t.Fatal(err)
	}
	checkRecording(t, eg.GetPath(), "h264,opus", time.Since(started))
}

// beepOnsets are the times at which hz starts in frames (20 ms each, at
// their time), after at least 300 ms without it (a gap in the frames, the
// silence the room sends as nothing, counts as without), to 5 ms.
func beepOnsets(frames []pionclient.Frame, hz, amp float64) []time.Time {
	const win = 240 // 5 ms, 5 cycles of 1 kHz
	var out []time.Time
	var last time.Time // the end of the last window that held the tone
	for _, f := range frames {
		for i := 0; i+win <= len(f.Samples); i += win {
			if codectest.Goertzel(f.Samples[i:i+win], hz) < amp/2 {
				continue
			}
			at := f.At.Add(time.Duration(i) * time.Second / 48000)
			if last.IsZero() || at.Sub(last) >= 300*time.Millisecond {
				out = append(out, at)
			}
			last = at.Add(5 * time.Millisecond)
		}
	}
	return out
}

// pcmFrames cuts pcm into 20 ms frames at their time from zero.
func pcmFrames(pcm []int16, zero time.Time) []pionclient.Frame {
	var out []pionclient.Frame
	for i := 0; i+960 <= len(pcm); i += 960 {
		out = append(out, pionclient.Frame{At: zero.Add(time.Duration(i) * time.Second / 48000), Samples: pcm[i : i+960]})
	}
	return out
}

// avOffset is how much later than the pictures the sound comes, from
// when each was sent: the median delay of the beeps' onsets minus the
// median delay of the camera frames' first appearances (both in seconds,
// against the send times).
func avOffset(t *testing.T, what string, sent, got []time.Time, video []float64) time.Duration {
	t.Helper()
	// got has the last beeps (a capture may start late), at least three.
	if len(got) < 3 || len(got) > len(sent) {
		t.Fatalf("%s: %d beeps sent, %d found", what, len(sent), len(got))
	}
	sent = sent[len(sent)-len(got):]
	if len(video) < 50 {
		t.Fatalf("%s: the camera's counter read in only %d pictures", what, len(video))
	}
	var audio []float64
	for i := range sent {
		audio = append(audio, got[i].Sub(sent[i]).Seconds())
	}
	return time.Duration((median(audio) - median(video)) * float64(time.Second))
}

// fileAVOffset is avOffset for a file (pictures w×h, the camera's
// counter in tile): its times are from its zero, the Unix epoch here.
func fileAVOffset(t *testing.T, path string, w, h int, tile compositor.Rect, sent []time.Time, sentAt map[int]time.Time, hz, amp float64) time.Duration {
	t.Helper()
	epoch := time.Unix(0, 0)
	// The decoded sound starts at the audio track's first timestamp.
	audioStart := probeFloat(t, ffprobe(t, path, "-select_streams", "a", "-show_entries", "stream=start_time", "-of", "csv=p=0"))
	beeps := beepOnsets(pcmFrames(pcm16(decode(t, path, "a", 0, 60)), epoch.Add(time.Duration(audioStart*float64(time.Second)))), hz, amp)
	// Each camera frame's first picture.
	raw := decode(t, path, "v", 0, 60)
	pts := strings.Fields(ffprobe(t, path, "-select_streams", "v", "-show_entries", "frame=pts_time", "-of", "csv=p=0"))
	size := w * h * 3 / 2
	if len(raw)/size != len(pts) {
		t.Fatalf("%s: %d pictures decoded, %d frames probed", path, len(raw)/size, len(pts))
	}
	seen := map[int]bool{}
	var video []float64
	for i := range pts {
		_, n, ok := pionclient.ReadCounter(rawPicture(raw[i*size:], w, h), tile.X, tile.Y, tile.W, tile.H)
		at, known := sentAt[n]
		if !ok || !known || seen[n] {
			continue
		}
		seen[n] = true
		video = append(video, epoch.Add(time.Duration(probeFloat(t, pts[i])*float64(time.Second))).Sub(at).Seconds())
	}
	return avOffset(t, path, sent, beeps, video)
}

// TestRecordAVOffset measures lip sync in a WebM and an fMP4 recording
// of the same session, in its RTMP stream (captured from nginx, when it
// is installed), and at a live viewer at the same time: one participant sends a camera whose every
// frame carries its number (the counter band) and beeps now and then.
// For the pictures, the time of each camera frame's first appearance
// minus when it was sent; for the sound, each beep's onset minus when it
// was sent; the difference of the medians is how much the sound lags.
// Each file's must be within ±40 ms, and within 40 ms of what the live
// viewer gets at the same time (the files are as well synced as the
// room's own streams; the viewer's pictures also wait for their encode
// and the network, which the files' do not).
func TestRecordAVOffset(t *testing.T) {
	if testing.Short() {
		t.Skip("records 9 s")
	}
	needFFmpeg(t)
	const w, h, fps = 320, 180, 30
	s := startServer(t, func(c *Config) {
		c.Canvas = fmt.Sprintf("%dx%d@%d", w, h, fps)
		c.Ladder = "off"
		c.RecordDir = t.TempDir()
	})
	regions, _ := compositor.Regions(compositor.Grid(), w, h, 1)
	tile, _ := compositor.ContentRect(regions[0].Rect, 320, 240, regions[0].Fit)
	var mu sync.Mutex
	liveSeen := map[int]time.Time{} // each counter's first arrival at the viewer
	cam := pionclient.VideoOptions{Y: 41, U: 240, V: 110, FPS: fps, Counter: true}
	c := joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "av", Name: "beeper", KeepSent: true, Video: &cam})
	viewer := joinReady(t, pionclient.Options{BaseURL: s.URL, Room: "av", Name: "viewer", RecvOnly: true, RecvVideo: true,
		OnComposite: func(at time.Time, pic *media.VideoFrame) {
			if _, n, ok := pionclient.ReadCounter(pic, tile.X, tile.Y, tile.W, tile.H); ok {
				mu.Lock()
				if _, seen := liveSeen[n]; !seen {
					liveSeen[n] = at
				}
				mu.Unlock()
			}
		}})
	time.Sleep(time.Second)
	api := dial(t, s)
	// The same session in both files that carry pictures, and, when
	// nginx is here, live over RTMP, captured by ffmpeg.
	var egs []*mcuv1.Egress
	for _, format := range []string{"webm", "mp4"} {
		eg, err := api.StartEgress(context.Background(), &mcuv1.StartEgressRequest{RoomId: "av", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: format, Path: "av." + format}}})
		if err != nil {
			t.Fatal(err)
		}
		egs = append(egs, eg)
	}
	var capture string
	var captureCmd *exec.Cmd
	var captured chan error
	if srv := maybeNginxRTMP(t); srv != nil {
		eg, err := api.StartEgress(context.Background(), &mcuv1.StartEgressRequest{RoomId: "av", Output: &mcuv1.StartEgressRequest_Stream{Stream: &mcuv1.StreamOutput{Url: srv.url("av")}}})
		if err != nil {
			t.Fatal(err)
		}
		egs = append(egs, eg)
		waitStream(t, api, eg.GetId(), true, 5*time.Second)
		capture = filepath.Join(t.TempDir(), "av.flv")
		captureCmd = exec.Command("ffmpeg", "-v", "error", "-rw_timeout", "2000000", "-i", srv.url("av"), "-c", "copy", "-f", "flv", capture)
		if err := captureCmd.Start(); err != nil {
			t.Fatal(err)
		}
		captured = make(chan error, 1)
		go func() { captured <- captureCmd.Wait() }()
		t.Cleanup(func() { _ = captureCmd.Process.Kill() })
	}
	const beepHz, beepAmp = 1000, 8000
	c.SetTone(0)
	for range 5 {
		time.Sleep(time.Second)
		c.SetTone(beepHz)
		time.Sleep(600 * time.Millisecond)
		c.SetTone(0)
	}
	time.Sleep(time.Second)
	for _, eg := range egs {
		if _, err := api.StopEgress(context.Background(), &mcuv1.StopEgressRequest{EgressId: eg.GetId()}); err != nil {
			t.Fatal(err)
		}
	}
	sentAt := map[int]time.Time{}
	for _, v := range c.SentVideoFrames() {
		sentAt[v.N] = v.At // within 17 s, counters do not wrap
	}
	// The beeps as sent (as the sender's own decoder hears them) and at
	// the viewer.
	sent := beepOnsets(c.Sent(), beepHz, beepAmp)
	sent = sent[len(sent)-min(len(sent), 5):] // the recording has the last 5
	live := beepOnsets(viewer.Frames(), beepHz, beepAmp)
	live = live[len(live)-min(len(live), 5):]
	var liveVideo []float64
	mu.Lock()
	for n, got := range liveSeen {
		if at, ok := sentAt[n]; ok {
			liveVideo = append(liveVideo, got.Sub(at).Seconds())
		}
	}
	mu.Unlock()
	atViewer := avOffset(t, "viewer", sent, live, liveVideo)
	t.Logf("A/V offset (sound behind pictures) at a live viewer: %v", atViewer.Round(time.Millisecond))

	paths := []string{egs[0].GetPath(), egs[1].GetPath()}
	if captured != nil {
		// nginx keeps its players after the stream ends: ffmpeg is
		// interrupted, which ends its file cleanly.
		// nginx keeps its players after the stream ends: ffmpeg is
		// interrupted, which ends its file cleanly.
		_ = captureCmd.Process.Signal(os.Interrupt)
		select {
		case err := <-captured:
			// 255: interrupted, as asked.
			if ee := (*exec.ExitError)(nil); err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 255) {
				t.Fatalf("ffmpeg capturing the live stream: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("ffmpeg's capture did not end")
		}
		paths = append(paths, capture)
	}
	var webm time.Duration
	for i, path := range paths {
		inFile := fileAVOffset(t, path, w, h, tile, sent, sentAt, beepHz, beepAmp)
		t.Logf("A/V offset (sound behind pictures) in %s: %v", filepath.Base(path), inFile.Round(time.Millisecond))
		if i == 0 {
			webm = inFile
		}
		if path == capture {
			// What a player of the stream gets also depends on how nginx
			// relays it (it restarts the timestamps for a player who
			// comes mid-stream): it is compared with the recording of
			// the same session.
			if d := inFile - webm; d < -30*time.Millisecond || d > 30*time.Millisecond {
				t.Errorf("the RTMP stream's A/V offset is %v off the WebM recording's", d.Round(time.Millisecond))
			}
			continue
		}
		if inFile < -40*time.Millisecond || inFile > 40*time.Millisecond {
			t.Errorf("%s: the sound is %v behind the pictures, want within ±40 ms", filepath.Base(path), inFile.Round(time.Millisecond))
		}
		if d := inFile - atViewer; d < -40*time.Millisecond || d > 40*time.Millisecond {
			t.Errorf("%s: the A/V offset is %v off the live viewer's", filepath.Base(path), d.Round(time.Millisecond))
		}
	}
}

// TestAutoRecord: a room created with auto_record is recorded from its
// creation; deleting the room finishes the file.
func TestAutoRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("records 3 s")
	}
	needFFmpeg(t)
	s := recordServer(t, "")
	api := dial(t, s)
	ctx := context.Background()
	r, err := api.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "auto", Options: &mcuv1.RoomOptions{AutoRecord: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.GetOptions().GetAutoRecord() {
		t.Errorf("the room's options say auto_record %v", r.GetOptions().GetAutoRecord())
	}
	list, err := api.ListEgress(ctx, &mcuv1.ListEgressRequest{RoomId: "auto"})
	if err != nil || len(list.GetEgress()) != 1 || list.GetEgress()[0].GetStatus() != mcuv1.EgressStatus_EGRESS_STATUS_ACTIVE {
		t.Fatalf("ListEgress of an auto_record room: %v, %v", list, err)
	}
	joinRecorded(t, s, "auto")
	time.Sleep(3 * time.Second)
	if _, err := api.DeleteRoom(ctx, &mcuv1.DeleteRoomRequest{Id: "auto"}); err != nil {
		t.Fatal(err)
	}
	var e *mcuv1.Egress
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		list, err := api.ListEgress(ctx, &mcuv1.ListEgressRequest{RoomId: "auto"})
		if err != nil {
			t.Fatal(err)
		}
		if e = list.GetEgress()[0]; e.GetStatus() == mcuv1.EgressStatus_EGRESS_STATUS_ENDED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the recording of a deleted room did not end: %v", e)
		}
	}
	if got := probeStreams(t, e.GetPath()); strings.Join(got, ",") != "vp8,opus" {
		t.Fatalf("streams %v", got)
	}
	if d := probeFloat(t, ffprobe(t, e.GetPath(), "-show_entries", "format=duration", "-of", "csv=p=0")); d < 2 {
		t.Errorf("the auto recording lasts %.2f s, want the 3 s with participants", d)
	}
}

// TestRecordDiskFull records to a disk that fills up (a 96 KiB tmpfs,
// mounted for the server alone in a mount namespace of its own; root
// only): the recording ends with an egress_ended event that says so, and
// nothing else changes: the room goes on, the server serves.
func TestRecordDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := startBinaryIn(t, []string{"unshare", "-m", "--propagation", "private", "sh", "-c", `mount -t tmpfs -o size=96k tmpfs "$0" && exec "$@"`, dir},
		"-record-dir", dir, "-canvas", fmt.Sprintf("%dx%d@%d", canvasW, canvasH, canvasFPS), "-ladder", "off")
	s := &testServer{URL: "http://" + b.http, GRPC: b.grpc}
	clients := joinRecorded(t, s, "full")
	api := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events, err := api.StreamEvents(ctx, &mcuv1.StreamEventsRequest{RoomId: "full"})
	if err != nil {
		t.Fatal(err)
	}
	eg, err := api.StartEgress(ctx, &mcuv1.StartEgressRequest{RoomId: "full", Output: &mcuv1.StartEgressRequest_File{File: &mcuv1.FileOutput{Format: "webm"}}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := events.Recv()
		if err != nil {
			t.Fatalf("no egress_ended: %v", err)
		}
		if ev.GetType() != mcuv1.EventType_EVENT_TYPE_EGRESS_ENDED || ev.GetEgress().GetId() != eg.GetId() {
			continue
		}
		e := ev.GetEgress()
		t.Logf("ended after %v, %d bytes: %s", e.GetDuration().AsDuration(), e.GetBytes(), e.GetError())
		if e.GetStatus() != mcuv1.EgressStatus_EGRESS_STATUS_FAILED || !strings.Contains(e.GetError(), "no space left") {
			t.Fatalf("egress_ended: %v, want failed with the disk full", e)
		}
		break
	}
	waitCanvas(t, clients, func(int) []*colour { return cols(red, blue) }, 5*time.Second)
	requireMixMinus(t, clients, recordTones, recordAmp, time.Now().Add(-1500*time.Millisecond), time.Now().Add(-500*time.Millisecond))
	if n := len(mustParticipants(t, api, "full")); n != 2 {
		t.Errorf("%d participants after the recording failed, want 2", n)
	}
}
