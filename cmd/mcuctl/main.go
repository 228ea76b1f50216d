// Command mcuctl is the command-line client of the MCU's gRPC control
// plane (mcu.v1.MCU): rooms, participants, layouts, plain-RTP legs, join
// tokens and the live event feed.
//
//	mcuctl [global flags] <command> [args] [flags]
//
// Run "mcuctl help" for the commands.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// defaultTimeout bounds each unary call.
const defaultTimeout = 10 * time.Second

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the call failed (or the connection did)
	exitUsage = 2 // the command line is wrong
)

// run is the whole program: it parses args, calls the server and prints
// the result, returning the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return runWith(ctx, args, stdout, stderr, getenv, dial)
}

// globals are the flags that apply to every command.
type globals struct {
	addr, token   string
	tls           bool
	ca, cert, key string
	json          bool
	timeout       time.Duration
}

// register adds the global flags to fs, with the current values as
// defaults (so registering them again on a command's flag set keeps what
// was parsed before the command).
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.addr, "addr", g.addr, "server `host:port` (env MCUCTL_ADDR)")
	fs.StringVar(&g.token, "token", g.token, "bearer `token` sent with every call (env MCUCTL_TOKEN)")
	fs.BoolVar(&g.tls, "tls", g.tls, "connect with TLS (system roots unless -ca)")
	fs.StringVar(&g.ca, "ca", g.ca, "CA certificate `file` (PEM) to verify the server with; implies -tls")
	fs.StringVar(&g.cert, "cert", g.cert, "client certificate `file` (PEM) for mutual TLS; needs -key, implies -tls")
	fs.StringVar(&g.key, "key", g.key, "client private key `file` (PEM) for mutual TLS")
	fs.BoolVar(&g.json, "json", g.json, "print responses as JSON (protojson), one object per line")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "deadline of each call (events stream without one)")
}

// globalFlag reports whether name is one of the global flags.
func globalFlag(name string) bool {
	switch name {
	case "addr", "token", "tls", "ca", "cert", "key", "json", "timeout":
		return true
	}
	return false
}

// dialer connects to the server the globals name.
type dialer func(g *globals) (mcuv1.MCUClient, io.Closer, error)

// usageError is a wrong command line: the message, and the usage line of
// the command concerned.
type usageError struct {
	msg, usage string
}

func (e *usageError) Error() string { return e.msg }

func usagef(usage, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), usage: usage}
}

func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, connect dialer) int {
	g := &globals{addr: "localhost:9090", timeout: defaultTimeout}
	if v := getenv("MCUCTL_ADDR"); v != "" {
		g.addr = v
	}
	g.token = getenv("MCUCTL_TOKEN")

	fs := newFlagSet("mcuctl")
	g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return exitOK
		}
		return usageFail(stderr, &usageError{msg: err.Error(), usage: "mcuctl [global flags] <command> [args] [flags]"})
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageFail(stderr, &usageError{msg: "no command", usage: "mcuctl [global flags] <command> [args] [flags]"})
	}
	if rest[0] == "help" {
		printUsage(stdout)
		return exitOK
	}

	inv, err := parseCommand(g, rest)
	if errors.Is(err, flag.ErrHelp) {
		printCommandHelp(stdout, inv)
		return exitOK
	}
	if err != nil {
		return usageFail(stderr, err)
	}

	client, closer, err := connect(g)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			return usageFail(stderr, err)
		}
		fmt.Fprintf(stderr, "mcuctl: %v\n", err)
		return exitError
	}
	defer closer.Close()

	if g.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+g.token)
	}
	a := &app{client: client, out: stdout, json: g.json, timeout: g.timeout}
	if err := inv.run(ctx, a); err != nil {
		fmt.Fprintf(stderr, "mcuctl: %s\n", errorText(err))
		return exitError
	}
	return exitOK
}

func usageFail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "mcuctl: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) && ue.usage != "" {
		fmt.Fprintf(stderr, "usage: %s\n", ue.usage)
	}
	fmt.Fprintln(stderr, `run "mcuctl help" for all commands`)
	return exitUsage
}

// errorText renders a failed call as "<message> (<CODE>)".
func errorText(err error) string {
	if s, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s (%s)", s.Message(), codeName(s.Code().String()))
	}
	return err.Error()
}

// codeName turns a code's Go name ("InvalidArgument") into its canonical
// gRPC name ("INVALID_ARGUMENT").
func codeName(s string) string {
	if s == "OK" {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// dial opens a client connection as the globals say. The connection is
// made lazily: an unreachable server shows as UNAVAILABLE on the call.
func dial(g *globals) (mcuv1.MCUClient, io.Closer, error) {
	creds, err := transportCredentials(g)
	if err != nil {
		return nil, nil, err
	}
	conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, nil, err
	}
	return mcuv1.NewMCUClient(conn), conn, nil
}

func transportCredentials(g *globals) (credentials.TransportCredentials, error) {
	if (g.cert == "") != (g.key == "") {
		return nil, usagef("mcuctl -cert FILE -key FILE ...", "-cert and -key go together")
	}
	if !g.tls && g.ca == "" && g.cert == "" {
		return insecure.NewCredentials(), nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if g.ca != "" {
		pem, err := os.ReadFile(g.ca)
		if err != nil {
			return nil, fmt.Errorf("CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA %s: no PEM certificates", g.ca)
		}
		tc.RootCAs = pool
	}
	if g.cert != "" {
		cert, err := tls.LoadX509KeyPair(g.cert, g.key)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(tc), nil
}

// app is what a command runs with.
type app struct {
	client  mcuv1.MCUClient
	out     io.Writer
	json    bool
	timeout time.Duration
}

// call bounds one unary call by the -timeout deadline.
func (a *app) call(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.timeout)
}
