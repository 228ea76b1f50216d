package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/mcu-project/mcu/auth"
)

const tokenUsage = "usage: mcu token create [-auth-secret SECRET] -room ROOM|* -identity ID [-name NAME] [-ttl DURATION] [-grants LIST]"

// tokenMain is "mcu token create": it mints a join token with the
// server's secret and prints it, for scripts that hand out tokens without
// a server to ask (mcuctl token create asks one). It returns the exit
// code: 0, or 2 for anything wrong with the command line or the secret.
func tokenMain(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "mcu token: %v\n%s\n", err, tokenUsage)
		return 2
	}
	if len(args) == 0 || args[0] != "create" {
		return fail(errors.New(`the only subcommand is "create"`))
	}
	fs := flag.NewFlagSet("mcu token create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	secret := fs.String("auth-secret", "", "the server's -auth-secret, at least 32 bytes (env MCU_AUTH_SECRET)")
	room := fs.String("room", "", "the `room` the token admits to, or * for every room")
	identity := fs.String("identity", "", "who joins with the token, `ID` (a second join with it replaces the first)")
	name := fs.String("name", "", "display `name` (empty: the one the join gives)")
	ttl := fs.Duration("ttl", auth.DefaultTTL, "how long the token is valid, 1s to 8784h")
	grants := fs.String("grants", "publish,subscribe", "what the token allows, a `list` of "+auth.GrantNames)
	err := fs.Parse(args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stdout, tokenUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	case err != nil:
		return fail(err)
	case fs.NArg() > 0:
		return fail(fmt.Errorf("unexpected arguments: %v", fs.Args()))
	case *room == "" || *identity == "":
		return fail(errors.New("-room and -identity are required"))
	}
	if *secret == "" {
		*secret = getenv("MCU_AUTH_SECRET")
	}
	if *secret == "" {
		return fail(errors.New("no secret: give -auth-secret or set MCU_AUTH_SECRET"))
	}
	a, err := auth.New([]byte(*secret), nil)
	if err != nil {
		return fail(err)
	}
	g, err := auth.ParseGrants(*grants)
	if err != nil {
		return fail(err)
	}
	tok, _, err := a.MintTTL(auth.Claims{Identity: *identity, Room: *room, Name: *name, Grants: g}, *ttl)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
