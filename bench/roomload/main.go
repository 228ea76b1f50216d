// Command roomload joins N participants (each sending its own tone, and
// with -video a moving camera picture) to one room of a running mcu from
// this separate process, holds them for a duration, and reports the mcu
// process's CPU use (from /proc) and what every participant received.
//
//	roomload -url http://127.0.0.1:8080 -n 20 -d 30s -pid $(pidof mcu)
//	roomload -n 4 -video 640x360 -d 30s -pid $(pidof mcu)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mcu-project/mcu/internal/pionclient"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "mcu base URL")
	room := flag.String("room", "load", "room name")
	n := flag.Int("n", 20, "participants")
	d := flag.Duration("d", 30*time.Second, "measurement duration (after all joined)")
	pid := flag.Int("pid", 0, "mcu process ID, for CPU accounting (0: skip)")
	video := flag.String("video", "", "camera size WIDTHxHEIGHT (at 30 fps); empty: audio only")
	codecs := flag.String("codecs", "VP8", "video codecs handed to participants in turn, e.g. VP8,H264")
	talkers := flag.Int("talkers", -1, "how many participants talk (send a tone); the rest send silence (-1: all)")
	flag.Parse()
	if err := run(*url, *room, *n, *d, *pid, *video, strings.Split(*codecs, ","), *talkers); err != nil {
		fmt.Fprintln(os.Stderr, "roomload:", err)
		os.Exit(1)
	}
}

func run(url, room string, n int, d time.Duration, pid int, video string, codecs []string, talkers int) error {
	var cam *pionclient.VideoOptions
	if video != "" {
		cam = &pionclient.VideoOptions{FPS: 30, Moving: true}
		if _, err := fmt.Sscanf(video, "%dx%d", &cam.Width, &cam.Height); err != nil {
			return fmt.Errorf("-video %q: want WIDTHxHEIGHT", video)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := make([]*pionclient.Client, 0, n)
	defer func() {
		for _, c := range clients {
			_, _ = c.Leave(context.Background())
			c.Close()
		}
	}()
	for i := range n {
		opts := pionclient.Options{BaseURL: url, Room: room, Name: fmt.Sprintf("load%d", i), ToneHz: 200 + 37*float64(i)}
		if talkers >= 0 && i >= talkers {
			opts.ToneHz = 0 // a listener: its microphone sends silence
		}
		if cam != nil {
			c := *cam
			c.Y, c.U, c.V = byte(60+40*(i%4)), byte(90+30*(i%3)), byte(200-30*(i%5))
			opts.Video, opts.RecvVideo = &c, true
			opts.VideoCodec = "video/" + strings.ToUpper(strings.TrimSpace(codecs[i%len(codecs)]))
		}
		c, err := pionclient.Join(ctx, opts)
		if err != nil {
			return fmt.Errorf("participant %d: %w", i, err)
		}
		clients = append(clients, c)
	}
	for _, c := range clients {
		if err := c.WaitConnected(ctx); err != nil {
			return err
		}
	}
	time.Sleep(time.Second) // let buffers and codecs settle
	before := make([]int, n)
	vbefore := make([]int, n)
	for i, c := range clients {
		before[i] = c.FrameCount()
		_, vbefore[i] = c.LatestVideo()
	}
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	start := time.Now()
	time.Sleep(d)
	elapsed := time.Since(start)
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	minRate, maxRate := 1e9, 0.0
	for i, c := range clients {
		rate := float64(c.FrameCount()-before[i]) / elapsed.Seconds()
		minRate, maxRate = min(minRate, rate), max(maxRate, rate)
	}
	fmt.Printf("participants: %d, duration: %.1f s\n", n, elapsed.Seconds())
	fmt.Printf("received audio packets/s per participant: min %.1f, max %.1f (want 50)\n", minRate, maxRate)
	if cam != nil {
		minFPS, maxFPS := 1e9, 0.0
		for i, c := range clients {
			pic, frames := c.LatestVideo()
			fps := float64(frames-vbefore[i]) / elapsed.Seconds()
			minFPS, maxFPS = min(minFPS, fps), max(maxFPS, fps)
			if pic != nil {
				fmt.Printf("participant %d receives %s %dx%d\n", i, c.VideoCodec(), pic.Width, pic.Height)
			}
		}
		fmt.Printf("decoded composite frames/s per participant: min %.1f, max %.1f\n", minFPS, maxFPS)
	}
	if pid != 0 {
		used := cpu1 - cpu0
		fmt.Printf("mcu CPU: %.2f s over %.1f s = %.1f %% of one core; %.3f CPU-s per participant-minute\n",
			used, elapsed.Seconds(), 100*used/elapsed.Seconds(), used/(float64(n)*elapsed.Minutes()))
	}
	return nil
}

// cpuSeconds returns user+system CPU time of pid from /proc/pid/stat.
func cpuSeconds(pid int) (float64, error) {
	if pid == 0 {
		return 0, nil
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields overall (11th and 12th after it).
	_, rest, ok := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat fields")
	}
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks, nil
}
