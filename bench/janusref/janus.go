package main

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/mcu-project/mcu/bench/internal/proc"
)

//go:embed conf/*.jcfg.tmpl
var confFS embed.FS

// Where the Debian package puts Janus.
const (
	debianJanus   = "/usr/bin/janus"
	debianLibRoot = "/usr/lib/x86_64-linux-gnu/janus"
)

// ensureJanus installs the Debian package when the binary is missing (as
// root, with apt-get; one retry after apt-get update). apt's output goes to
// stderr so stdout stays clean for -json.
func ensureJanus(ctx context.Context, bin string) error {
	if _, err := os.Stat(bin); err == nil {
		return nil
	}
	if bin != debianJanus {
		return fmt.Errorf("janus binary %s not found", bin)
	}
	if os.Geteuid() != 0 {
		return errors.New("janus is not installed and this is not root: run `apt-get install -y janus` first")
	}
	logf("installing Janus: apt-get install -y janus")
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "janus")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		return cmd.Run()
	}
	if err := install(); err != nil {
		logf("apt-get install failed (%v); running apt-get update and retrying", err)
		upd := exec.CommandContext(ctx, "apt-get", "update")
		upd.Stdout, upd.Stderr = os.Stderr, os.Stderr
		_ = upd.Run()
		if err := install(); err != nil {
			return fmt.Errorf("apt-get install -y janus: %w", err)
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("janus still missing after apt-get install: %w", err)
	}
	if out, err := exec.Command("systemctl", "is-active", "janus").Output(); err == nil && strings.TrimSpace(string(out)) == "active" {
		logf("note: installing the package started the system janus.service (default config, port 8088); " +
			"it is not used here and adds its own idle CPU: `systemctl disable --now janus` to stop it")
	}
	return nil
}

// janusConfig is what the templates in conf/ are filled with.
type janusConfig struct {
	Dir          string
	DebugLevel   int
	HTTPPort     int
	RTPPortRange string
	// IP is the one address Janus uses (API, media), ICEIf the interface
	// it gathers ICE candidates on and ACL the API's allowed client
	// prefix: by default 127.0.0.1, lo and "127."; a WebRTC run puts Janus
	// behind a veth pair instead (Janus gathers no loopback candidates).
	IP, ICEIf, ACL string
}

// writeConfig writes the three config files into dir and makes the plugin
// and transport folders hold only AudioBridge and HTTP.
func writeConfig(dir, libRoot string, c janusConfig) error {
	c.Dir = dir
	if c.IP == "" {
		c.IP, c.ICEIf, c.ACL = "127.0.0.1", "lo", "127."
	}
	for _, sub := range []string{"plugins", "transports", "events", "loggers"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	for sub, lib := range map[string]string{"plugins": "libjanus_audiobridge.so", "transports": "libjanus_http.so"} {
		src := filepath.Join(libRoot, sub, lib)
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("janus library missing: %w", err)
		}
		if err := os.Symlink(src, filepath.Join(dir, sub, lib)); err != nil {
			return err
		}
	}
	tmpls, err := template.ParseFS(confFS, "conf/*.jcfg.tmpl")
	if err != nil {
		return err
	}
	for _, t := range tmpls.Templates() {
		var b bytes.Buffer
		if err := t.Execute(&b, c); err != nil {
			return fmt.Errorf("%s: %w", t.Name(), err)
		}
		name := strings.TrimSuffix(t.Name(), ".tmpl")
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it (Janus's log), and
// copies everything to an optional file.
type tailBuffer struct {
	mu   sync.Mutex
	buf  []byte
	max  int
	copy io.Writer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.copy != nil {
		_, _ = t.copy.Write(p)
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// Tail returns the last n lines.
func (t *tailBuffer) Tail(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(t.buf), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// janusProc is a running Janus child process with its config directory.
type janusProc struct {
	cmd     *exec.Cmd
	dir     string
	base    string // http://127.0.0.1:port/janus
	log     *tailBuffer
	logFile *os.File
	exited  chan struct{}
	waitErr error
	version string
}

// startJanus writes a config into a fresh temp dir, starts Janus on it and
// waits until its HTTP API answers. It retries with another port if the
// one picked was taken in the meantime.
func startJanus(ctx context.Context, o options) (*janusProc, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := startJanusOnce(ctx, o)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func startJanusOnce(ctx context.Context, o options) (*janusProc, error) {
	port, err := proc.FreeTCPPort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "janusref-")
	if err != nil {
		return nil, err
	}
	cfg := janusConfig{DebugLevel: o.janusDebug, HTTPPort: port, RTPPortRange: o.rtpPorts}
	if o.link != nil {
		cfg.IP, cfg.ICEIf, cfg.ACL = o.link.PeerIP, o.link.PeerIf, o.link.HostIP
	}
	p := &janusProc{dir: dir, base: fmt.Sprintf("http://%s/janus", net.JoinHostPort(cmp.Or(cfg.IP, "127.0.0.1"), strconv.Itoa(port))), exited: make(chan struct{}),
		log: &tailBuffer{max: 64 << 10}}
	fail := func(err error) (*janusProc, error) {
		p.stop()
		return nil, err
	}
	if err := writeConfig(dir, o.libRoot, cfg); err != nil {
		return fail(fmt.Errorf("janus config: %w", err))
	}
	if o.janusLog != "" {
		f, err := os.Create(o.janusLog)
		if err != nil {
			return fail(err)
		}
		p.logFile, p.log.copy = f, f
	}
	p.cmd = exec.Command(o.janusBin, "-F", dir, "-C", filepath.Join(dir, "janus.jcfg"))
	if o.link != nil {
		// ip netns exec execs Janus in the namespace: the PID is Janus's.
		p.cmd = exec.Command("ip", append([]string{"netns", "exec", o.link.NS}, p.cmd.Args...)...)
	}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	// Own process group: a terminal's Ctrl-C reaches only us, and we shut
	// Janus down in order. Pdeathsig: Janus dies with us if we are killed.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return fail(fmt.Errorf("janus did not start: %w", err))
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	// Wait for GET /janus/info to answer.
	deadline := time.Now().Add(20 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-p.exited:
			return fail(fmt.Errorf("janus did not start (exited: %v):\n%s", p.waitErr, p.log.Tail(30)))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if v, err := serverInfo(hc, p.base); err == nil {
			p.version = v
			return p, nil
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("janus did not start: API at %s not answering after 20 s:\n%s", p.base, p.log.Tail(30)))
		}
	}
}

// serverInfo returns Janus's version string from GET /janus/info.
func serverInfo(hc *http.Client, base string) (string, error) {
	resp, err := hc.Get(base + "/info")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var info struct {
		Janus         string `json:"janus"`
		VersionString string `json:"version_string"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
		return "", err
	}
	if info.Janus != "server_info" {
		return "", fmt.Errorf("unexpected /info answer %q", info.Janus)
	}
	return info.VersionString, nil
}

// pid of the Janus process.
func (p *janusProc) pid() int { return p.cmd.Process.Pid }

// alive reports whether Janus is still running.
func (p *janusProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop ends Janus (SIGTERM, SIGKILL after 5 s) and removes the temp dir.
func (p *janusProc) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		if p.alive() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
				logf("janus did not exit within 5 s of SIGTERM; killing it")
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
	}
	if p.logFile != nil {
		_ = p.logFile.Close()
	}
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
}

// janusAPI talks the Janus API over HTTP: POSTs for requests, one
// long-poll loop per session for the asynchronous plugin events, which it
// hands to the request waiting for their transaction.
type janusAPI struct {
	base    string
	hc      *http.Client // requests: 10 s timeout
	poll    *http.Client // long polls: Janus answers within 30 s
	session int64

	mu      sync.Mutex
	waiters map[string]chan janusMsg
	txn     int
	pollErr error
}

// janusMsg is the envelope of every Janus API message.
type janusMsg struct {
	Janus       string `json:"janus"`
	Transaction string `json:"transaction"`
	Sender      int64  `json:"sender"`
	Data        struct {
		ID int64 `json:"id"`
	} `json:"data"`
	Error *struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"error"`
	Plugindata *struct {
		Plugin string          `json:"plugin"`
		Data   json.RawMessage `json:"data"`
	} `json:"plugindata"`
	Jsep *jsep `json:"jsep"`
}

// jsep is a session description as Janus's API carries it.
type jsep struct {
	Type    string `json:"type"`
	SDP     string `json:"sdp"`
	Trickle *bool  `json:"trickle,omitempty"`
}

const requestTimeout = 10 * time.Second

func newJanusAPI(base string) *janusAPI {
	return &janusAPI{
		base:    base,
		hc:      &http.Client{Timeout: requestTimeout},
		poll:    &http.Client{Timeout: 45 * time.Second},
		waiters: map[string]chan janusMsg{},
	}
}

func (a *janusAPI) nextTxn() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.txn++
	return "t" + strconv.Itoa(a.txn)
}

// post sends one request to path (relative to the API base) and decodes
// the immediate answer.
func (a *janusAPI) post(ctx context.Context, path string, req map[string]any) (janusMsg, error) {
	var m janusMsg
	body, err := json.Marshal(req)
	if err != nil {
		return m, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return m, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(hreq)
	if err != nil {
		return m, fmt.Errorf("janus API %s %s: %w", req["janus"], path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return m, fmt.Errorf("janus API %s %s: %w", req["janus"], path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("janus API %s %s: HTTP %s: %s", req["janus"], path, resp.Status, bytes.TrimSpace(raw))
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("janus API %s %s: %w: %s", req["janus"], path, err, raw)
	}
	if m.Janus == "error" && m.Error != nil {
		return m, fmt.Errorf("janus API %s %s: error %d: %s", req["janus"], path, m.Error.Code, m.Error.Reason)
	}
	return m, nil
}

// createSession creates the session and starts its long-poll loop, which
// runs until pollCtx ends.
func (a *janusAPI) createSession(ctx, pollCtx context.Context) error {
	m, err := a.post(ctx, "", map[string]any{"janus": "create", "transaction": a.nextTxn()})
	if err != nil {
		return err
	}
	if m.Janus != "success" || m.Data.ID == 0 {
		return fmt.Errorf("janus create session: unexpected answer %q", m.Janus)
	}
	a.session = m.Data.ID
	go a.longPoll(pollCtx)
	return nil
}

// longPoll fetches the session's events and dispatches them by transaction;
// unsolicited ones (other participants joining, keepalives) are dropped.
func (a *janusAPI) longPoll(ctx context.Context) {
	url := fmt.Sprintf("%s/%d?maxev=50", a.base, a.session)
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := a.poll.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				a.setPollErr(err)
				time.Sleep(200 * time.Millisecond)
			}
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			continue
		}
		var msgs []janusMsg
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '[' {
			_ = json.Unmarshal(raw, &msgs)
		} else {
			var m janusMsg
			if json.Unmarshal(raw, &m) == nil {
				msgs = append(msgs, m)
			}
		}
		for _, m := range msgs {
			if m.Janus == "error" && m.Error != nil && m.Transaction == "" {
				a.setPollErr(fmt.Errorf("janus long poll: error %d: %s", m.Error.Code, m.Error.Reason))
			}
			if m.Transaction == "" {
				continue
			}
			a.mu.Lock()
			ch := a.waiters[m.Transaction]
			a.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default:
				}
			}
		}
	}
}

func (a *janusAPI) setPollErr(err error) {
	a.mu.Lock()
	a.pollErr = err
	a.mu.Unlock()
}

// attach attaches a new handle to the AudioBridge plugin.
func (a *janusAPI) attach(ctx context.Context) (int64, error) {
	m, err := a.post(ctx, fmt.Sprintf("/%d", a.session), map[string]any{
		"janus": "attach", "plugin": "janus.plugin.audiobridge", "transaction": a.nextTxn(),
	})
	if err != nil {
		return 0, err
	}
	if m.Janus != "success" || m.Data.ID == 0 {
		return 0, fmt.Errorf("janus attach: unexpected answer %q", m.Janus)
	}
	return m.Data.ID, nil
}

// detach detaches a handle.
func (a *janusAPI) detach(ctx context.Context, handle int64) error {
	_, err := a.post(ctx, fmt.Sprintf("/%d/%d", a.session, handle), map[string]any{"janus": "detach", "transaction": a.nextTxn()})
	return err
}

// destroySession destroys the session.
func (a *janusAPI) destroySession(ctx context.Context) error {
	_, err := a.post(ctx, fmt.Sprintf("/%d", a.session), map[string]any{"janus": "destroy", "transaction": a.nextTxn()})
	return err
}

// message sends an AudioBridge request on handle and returns the plugin's
// answer: straight from the HTTP response for synchronous requests
// (create, destroy), or from the event with the same transaction for
// asynchronous ones (join, leave). AudioBridge errors become Go errors.
func (a *janusAPI) message(ctx context.Context, handle int64, body map[string]any) (json.RawMessage, error) {
	data, _, err := a.messageJSEP(ctx, handle, body, nil)
	return data, err
}

// messageJSEP is message with a session description (offer) sent along;
// it also returns the one the answer carries, if any.
func (a *janusAPI) messageJSEP(ctx context.Context, handle int64, body map[string]any, offer *jsep) (json.RawMessage, *jsep, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	tx := a.nextTxn()
	ch := make(chan janusMsg, 1)
	a.mu.Lock()
	a.waiters[tx] = ch
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.waiters, tx)
		a.mu.Unlock()
	}()
	req := map[string]any{"janus": "message", "transaction": tx, "body": body}
	if offer != nil {
		req["jsep"] = offer
	}
	m, err := a.post(ctx, fmt.Sprintf("/%d/%d", a.session, handle), req)
	if err != nil {
		return nil, nil, err
	}
	if m.Janus == "ack" {
		select {
		case m = <-ch:
		case <-ctx.Done():
			a.mu.Lock()
			perr := a.pollErr
			a.mu.Unlock()
			return nil, nil, fmt.Errorf("audiobridge %v: no event from janus within %v (long poll: %v)", body["request"], requestTimeout, perr)
		}
	}
	if m.Plugindata == nil {
		return nil, nil, fmt.Errorf("audiobridge %v: answer %q without plugindata", body["request"], m.Janus)
	}
	var e struct {
		Code  int    `json:"error_code"`
		Error string `json:"error"`
	}
	_ = json.Unmarshal(m.Plugindata.Data, &e)
	if e.Code != 0 || e.Error != "" {
		return nil, nil, fmt.Errorf("audiobridge %v: error %d: %s", body["request"], e.Code, e.Error)
	}
	return m.Plugindata.Data, m.Jsep, nil
}
