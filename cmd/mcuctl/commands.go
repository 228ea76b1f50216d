package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// action performs a parsed command.
type action func(ctx context.Context, a *app) error

// command is one "group name" command. setup registers its flags and
// returns prepare, which checks the positional arguments (and the flags)
// and builds the action; its errors are usage errors.
type command struct {
	group, name string
	args        string // usage after "mcuctl group name"
	summary     string
	min, max    int // positional arguments
	setup       func(fs *flag.FlagSet) func(args []string) (action, error)
}

func (c *command) path() string {
	if c.name == "" {
		return c.group
	}
	return c.group + " " + c.name
}

func (c *command) usage() string {
	return strings.TrimSpace("mcuctl " + c.path() + " " + c.args)
}

// invocation is a parsed command line.
type invocation struct {
	group string   // set for "mcuctl <group> -h"
	cmd   *command // nil for a group's help
	fs    *flag.FlagSet
	act   action
}

func (inv *invocation) run(ctx context.Context, a *app) error { return inv.act(ctx, a) }

var groups = []string{"rooms", "participants", "layout", "legs", "record", "stream", "token", "events", "nodes"}

// commands is the command table; usage text is generated from it.
var commands = []*command{
	{group: "rooms", name: "list", summary: "list the rooms", setup: noFlags(roomsList)},
	{group: "rooms", name: "get", args: "<room>", summary: "show a room's settings", min: 1, max: 1, setup: noFlags(roomsGet)},
	{group: "rooms", name: "create", args: "<room> [--canvas WxH@FPS] [--codecs VP8,H264] [--exclude-self] [--max-participants N] [--max-speakers N] [--audio-complexity 1..10] [--delete-when-empty] [--no-labels] [--no-highlight] [--ladder WxH@FPS:BITRATE,...] [--auto-record]",
		summary: "create a room (unset options take the server's defaults)", min: 1, max: 1, setup: roomsCreate},
	{group: "rooms", name: "update", args: "<room> [--exclude-self=BOOL] [--max-participants N] [--max-speakers N] [--delete-when-empty=BOOL]",
		summary: "change the options given", min: 1, max: 1, setup: roomsUpdate},
	{group: "rooms", name: "delete", args: "<room>", summary: "delete a room, disconnecting everyone in it", min: 1, max: 1, setup: noFlags(roomsDelete)},

	{group: "participants", name: "list", args: "<room>", summary: "list a room's participants", min: 1, max: 1, setup: noFlags(participantsList)},
	{group: "participants", name: "mute", args: "<room> <id>", summary: "leave the participant's audio out of everyone's mix", min: 2, max: 2, setup: participantUpdate("mute")},
	{group: "participants", name: "unmute", args: "<room> <id>", summary: "mix the participant's audio again", min: 2, max: 2, setup: participantUpdate("unmute")},
	{group: "participants", name: "mute-video", args: "<room> <id>", summary: "show the placeholder instead of the participant's video", min: 2, max: 2, setup: participantUpdate("mute-video")},
	{group: "participants", name: "unmute-video", args: "<room> <id>", summary: "show the participant's video again", min: 2, max: 2, setup: participantUpdate("unmute-video")},
	{group: "participants", name: "gain", args: "<room> <id> <dB>", summary: "set the participant's audio gain (-60..+20 dB)", min: 3, max: 3, setup: participantUpdate("gain")},
	{group: "participants", name: "rename", args: "<room> <id> <name>", summary: "change the participant's display name", min: 3, max: 3, setup: participantUpdate("rename")},
	{group: "participants", name: "pin", args: "<room> <id>", summary: "hold the speaker slot for the participant", min: 2, max: 2, setup: participantUpdate("pin")},
	{group: "participants", name: "unpin", args: "<room> <id>", summary: "release the speaker slot", min: 2, max: 2, setup: participantUpdate("unpin")},
	{group: "participants", name: "remove", args: "<room> <id>", summary: "disconnect the participant", min: 2, max: 2, setup: noFlags(participantRemove)},

	{group: "layout", name: "get", args: "<room> [--viewer ID]", summary: "show the room's layout, or what a viewer sees", min: 1, max: 1, setup: layoutGet},
	{group: "layout", name: "set", args: "<room> grid|speaker|pip|presentation|custom [--region " + regionSyntax + "]... [--viewer ID]",
		summary: "set the room's layout, or a viewer's override", min: 2, max: 2, setup: layoutSet},
	{group: "layout", name: "clear", args: "<room> --viewer ID", summary: "remove a viewer's override", min: 1, max: 1, setup: layoutClear},
	{group: "layout", name: "show-share", args: "<room> [<id>]", summary: "show this participant's screen share while several share (no ID: the latest)", min: 1, max: 2, setup: noFlags(layoutShowShare)},

	{group: "legs", name: "create", args: "<room> <ip:port> <PCMU|PCMA|opus> [--name NAME]", summary: "call a plain-RTP device (a phone through a SIP gateway) into the room", min: 3, max: 3, setup: legsCreate},
	{group: "legs", name: "delete", args: "<room> <id>", summary: "hang up a leg", min: 2, max: 2, setup: noFlags(legsDelete)},

	{group: "record", name: "start", args: "<room> [--format webm|mp4|ogg] [--path FILE]", summary: "record the room's full mix and canvas to a file on the server", min: 1, max: 1, setup: recordStart},
	{group: "record", name: "stop", args: "<egress id>", summary: "stop a recording (its file is finished: index and duration)", min: 1, max: 1, setup: noFlags(recordStop)},
	{group: "record", name: "list", args: "[<room>]", summary: "list the recordings, active ones first", min: 0, max: 1, setup: noFlags(recordList)},

	{group: "stream", name: "start", args: "<room> <rtmp://host/app/key>", summary: "stream the room's full mix and canvas live (H.264 + AAC over RTMP); several at once are fine", min: 2, max: 2, setup: noFlags(streamStart)},
	{group: "stream", name: "stop", args: "<egress id>", summary: "stop a live stream", min: 1, max: 1, setup: noFlags(recordStop)},
	{group: "stream", name: "list", args: "[<room>]", summary: "list the recordings and live streams", min: 0, max: 1, setup: noFlags(recordList)},

	{group: "token", name: "create", args: "--room ROOM|* --identity ID [--name NAME] [--ttl DURATION] [--grants publish,subscribe,admin,hidden]",
		summary: "mint a join token for the HTTP side (the server needs -auth-secret)", setup: tokenCreate},

	{group: "events", args: "[<room>]", summary: "print events (of one room, or all) until interrupted", min: 0, max: 1, setup: noFlags(events)},
	{group: "nodes", summary: "list the cluster's nodes with their load (stress, CPU, tick lateness p99, participants of the cap)", setup: noFlags(nodesList)},
}

func noFlags(f func(args []string) (action, error)) func(*flag.FlagSet) func([]string) (action, error) {
	return func(*flag.FlagSet) func([]string) (action, error) { return f }
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" || s == "help" }

// parseCommand finds the command args name and parses its arguments.
// Global flags are accepted among them too. flag.ErrHelp comes with the
// invocation whose help was asked for.
func parseCommand(g *globals, args []string) (*invocation, error) {
	group := args[0]
	var cmds []*command
	for _, c := range commands {
		if c.group == group {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) == 0 {
		return nil, &usageError{msg: fmt.Sprintf("unknown command %q", group), usage: "mcuctl [global flags] " + strings.Join(groups, "|") + " ..."}
	}
	var cmd *command
	rest := args[1:]
	if len(cmds) == 1 && cmds[0].name == "" {
		cmd = cmds[0]
	} else {
		var names []string
		for _, c := range cmds {
			names = append(names, c.name)
		}
		groupUsage := "mcuctl " + group + " " + strings.Join(names, "|") + " ..."
		if len(rest) == 0 {
			return nil, &usageError{msg: group + ": missing subcommand", usage: groupUsage}
		}
		if isHelp(rest[0]) {
			return &invocation{group: group}, flag.ErrHelp
		}
		for _, c := range cmds {
			if c.name == rest[0] {
				cmd = c
			}
		}
		if cmd == nil {
			return nil, &usageError{msg: fmt.Sprintf("%s: unknown subcommand %q", group, rest[0]), usage: groupUsage}
		}
		rest = rest[1:]
	}

	fs := newFlagSet("mcuctl " + cmd.path())
	prepare := cmd.setup(fs)
	g.register(fs)
	inv := &invocation{cmd: cmd, fs: fs}
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		return inv, err
	}
	if err != nil {
		return nil, &usageError{msg: err.Error(), usage: cmd.usage()}
	}
	switch {
	case len(pos) < cmd.min:
		return nil, &usageError{msg: cmd.path() + ": missing arguments", usage: cmd.usage()}
	case len(pos) > cmd.max:
		return nil, &usageError{msg: fmt.Sprintf("%s: unexpected argument %q", cmd.path(), pos[cmd.max]), usage: cmd.usage()}
	}
	if inv.act, err = prepare(pos); err != nil {
		return nil, &usageError{msg: cmd.path() + ": " + err.Error(), usage: cmd.usage()}
	}
	return inv, nil
}

// printCommandHelp prints a command's (or a group's) usage and flags.
func printCommandHelp(w io.Writer, inv *invocation) {
	if inv.cmd == nil {
		fmt.Fprintf(w, "usage:\n")
		for _, c := range commands {
			if c.group == inv.group {
				fmt.Fprintf(w, "  %s\n        %s\n", c.usage(), c.summary)
			}
		}
		return
	}
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", inv.cmd.usage(), capitalize(inv.cmd.summary))
	var own []*flag.Flag
	inv.fs.VisitAll(func(f *flag.Flag) {
		if !globalFlag(f.Name) {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintf(w, "\nflags:\n")
		for _, f := range own {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  %s\n        %s\n", strings.TrimSpace("--"+f.Name+" "+name), usage)
		}
	}
	if inv.cmd.group == "layout" && inv.cmd.name == "set" {
		fmt.Fprintf(w, "\n%s", regionHelp)
	}
	fmt.Fprintf(w, "\nGlobal flags (see \"mcuctl help\") may be given here too.\n")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

const regionHelp = `A region is ` + regionSyntax + `:
  x, y, w, h  normalised to the canvas (0..1; x+w and y+h at most 1)
  z           stacking order, higher on top (default 0)
  fit         contain (whole picture, letterboxed; default) or cover (cropped)
  who         a participant ID, "speaker" (the speaker slot), "presentation"
              (the screen share shown) or "next" (the next participant not
              shown elsewhere; default)
Empty fields take the default: 0,0,1,1,,,speaker. A participant ID made
of digits only must come in the who position (e.g. 0,0,1,1,,,1234).
`

// printUsage prints the full usage.
func printUsage(w io.Writer) {
	fmt.Fprintf(w, `mcuctl controls an MCU over its gRPC API.

usage: mcuctl [global flags] <command> [args] [flags]

Commands:
`)
	group := ""
	for _, c := range commands {
		if c.group != group && group != "" {
			fmt.Fprintln(w)
		}
		group = c.group
		fmt.Fprintf(w, "  %s\n        %s\n", strings.TrimPrefix(c.usage(), "mcuctl "), c.summary)
	}
	fmt.Fprintf(w, "\n%s", regionHelp)
	fmt.Fprintf(w, `
Flags may follow the arguments; "--" ends the flags. Numbers such as a
gain of -6 are arguments, not flags.

Global flags:
`)
	fs := newFlagSet("mcuctl")
	g := &globals{addr: "localhost:9090", timeout: defaultTimeout}
	g.register(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, `
Exit status: 0 on success, 1 when the call fails, 2 on a usage error.
`)
}
