package baresip

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Event types of baresip's UA events (ctrl_tcp "type").
const (
	EventRegisterOK   = "REGISTER_OK"
	EventRegisterFail = "REGISTER_FAIL"
	EventIncoming     = "CALL_INCOMING"
	EventEstablished  = "CALL_ESTABLISHED"
	EventClosed       = "CALL_CLOSED"
)

var (
	// ErrNotInstalled is returned by Start when no baresip is on the PATH.
	ErrNotInstalled = errors.New("baresip is not installed (Debian package baresip; `make deps` or scripts/install-deps.sh installs it)")
	// ErrExited is returned when baresip exited while a caller waited.
	ErrExited = errors.New("baresip: process exited")
	// ErrCommand is returned by Command when baresip answered ok=false.
	ErrCommand = errors.New("baresip: command failed")
)

// Config shapes a Phone.
type Config struct {
	// Dir is the config directory (created if missing); the recordings of
	// the sndfile filter land there too.
	Dir string
	// Tone is the WAV file aufile plays into every call (WriteTone).
	Tone string
	// CAFile is sip_cafile: the CA trusted for SIP over TLS.
	CAFile string
	// CtrlPort is the 127.0.0.1 TCP port of ctrl_tcp.
	CtrlPort int
	// RTPPorts is the rtp_ports range, first and last.
	RTPPorts [2]int
	// SIPTrace runs baresip with -s (every SIP message in Output).
	SIPTrace bool
	// Log, when set, receives every line baresip prints.
	Log func(line string)
}

// Event is one UA event from ctrl_tcp.
type Event struct {
	Class     string `json:"class"`
	Type      string `json:"type"`
	Param     string `json:"param"`
	AOR       string `json:"accountaor"`
	Direction string `json:"direction"`
	PeerURI   string `json:"peeruri"`
	// ID is the call's SIP Call-ID (call events).
	ID string `json:"id"`
}

// Account is one baresip account: AOR sip:User@Domain registered through
// Proxy (host:port) over Transport ("udp", "tcp" or "tls").
type Account struct {
	User, Domain, Password string
	Transport              string
	Proxy                  string
	// Expires is the registration interval (regint); default 300.
	Expires int
}

// AOR returns sip:User@Domain.
func (a Account) AOR() string { return "sip:" + a.User + "@" + a.Domain }

// line renders the account the way baresip's accounts file (and uanew)
// reads it.
func (a Account) line() string {
	exp := a.Expires
	if exp <= 0 {
		exp = 300
	}
	return fmt.Sprintf("<sip:%s@%s;transport=%s>;auth_pass=%s;outbound=\"sip:%s;transport=%s\";regint=%d;answermode=auto",
		a.User, a.Domain, a.Transport, a.Password, a.Proxy, a.Transport, exp)
}

// Phone is a running baresip.
type Phone struct {
	cfg      Config
	cmd      *exec.Cmd
	ctrl     net.Conn
	done     chan struct{} // closed when the process was waited
	werr     error         // exit status, valid after done
	ctrlDone chan struct{} // closed when the control reader ended

	outMu sync.Mutex
	out   bytes.Buffer

	writeMu sync.Mutex

	mu      sync.Mutex
	token   int
	pending map[string]chan response
	events  []Event
	next    int           // first event not yet returned by WaitEvent
	notify  chan struct{} // closed and replaced when an event arrives
	ctrlErr error
}

type response struct {
	OK   bool   `json:"ok"`
	Data string `json:"data"`
}

// Installed returns the path of baresip on the PATH, or ErrNotInstalled.
func Installed() (string, error) {
	bin, err := exec.LookPath("baresip")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotInstalled, err)
	}
	return bin, nil
}

// Start writes the config directory and starts baresip, then connects to
// its control port. It returns once baresip said it is ready and the
// control connection is up, or ctx ends.
func Start(ctx context.Context, cfg Config) (*Phone, error) {
	bin, err := Installed()
	if err != nil {
		return nil, err
	}
	if err := writeConfig(cfg); err != nil {
		return nil, err
	}
	args := []string{"-f", cfg.Dir}
	if cfg.SIPTrace {
		args = append(args, "-s")
	}
	p := &Phone{cfg: cfg, done: make(chan struct{}), ctrlDone: make(chan struct{}), pending: map[string]chan response{}, notify: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = cfg.Dir
	p.cmd.Stdin = nil // /dev/null: no console UI
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("baresip: %w", err)
	}
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return nil, fmt.Errorf("baresip: start: %w", err)
	}
	_ = pw.Close()
	ready := make(chan struct{})
	go func() { // owner: p; reads the output to EOF (process exit), then waits for the process
		p.readOutput(pr, ready)
		p.werr = p.cmd.Wait()
		_ = pr.Close()
		close(p.done)
	}()
	select {
	case <-ready:
	case <-p.done:
		return nil, fmt.Errorf("%w before it was ready (%v):\n%s", ErrExited, p.werr, p.Output())
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("baresip: not ready: %w\n%s", ctx.Err(), p.Output())
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(cfg.CtrlPort))
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("baresip: control port: %w\n%s", err, p.Output())
	}
	p.ctrl = conn
	go func() { // owner: p; ends when the control connection closes (Close, kill, exit)
		defer close(p.ctrlDone)
		p.readControl(bufio.NewReader(conn))
	}()
	return p, nil
}

// writeConfig writes DIR/config and an empty DIR/accounts (accounts are
// created with uanew once the control connection is up).
func writeConfig(cfg Config) error {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("baresip: %w", err)
	}
	lines := []string{
		"poll_method epoll",
		"sip_listen 127.0.0.1:0",
		"net_interface 127.0.0.1",
		"call_local_timeout 30",
		"call_max_calls 4",
		"audio_source aufile," + cfg.Tone,
		"audio_buffer 20-160",
		fmt.Sprintf("rtp_ports %d-%d", cfg.RTPPorts[0], cfg.RTPPorts[1]),
		"rtcp_mux no",
		"jitter_buffer_delay 1-10",
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module aufile.so",
		"module sndfile.so",
		"module_tmp account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		fmt.Sprintf("ctrl_tcp_listen 127.0.0.1:%d", cfg.CtrlPort),
		"snd_path " + cfg.Dir,
	}
	if cfg.CAFile != "" {
		lines = append(lines, "sip_cafile "+cfg.CAFile)
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "config"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("baresip: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "accounts"), nil, 0o600); err != nil {
		return fmt.Errorf("baresip: %w", err)
	}
	return nil
}

func (p *Phone) readOutput(r io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	announced := false
	for sc.Scan() {
		line := sc.Text()
		p.outMu.Lock()
		p.out.WriteString(line + "\n")
		p.outMu.Unlock()
		if p.cfg.Log != nil {
			p.cfg.Log(line)
		}
		if !announced && strings.Contains(line, "baresip is ready.") {
			announced = true
			close(ready)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// readControl reads netstrings ("LEN:JSON,") from ctrl_tcp: responses go
// to the Command waiting for their token, events to the event list.
func (p *Phone) readControl(r *bufio.Reader) {
	err := func() error {
		for {
			n, err := r.ReadString(':')
			if err != nil {
				return err
			}
			size, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(n, ":")))
			if err != nil || size < 0 || size > 1<<20 {
				return fmt.Errorf("baresip: bad netstring length %q", n)
			}
			msg := make([]byte, size+1)
			if _, err := io.ReadFull(r, msg); err != nil {
				return err
			}
			if msg[size] != ',' {
				return fmt.Errorf("baresip: netstring not ended by a comma: %q", msg)
			}
			p.dispatch(msg[:size])
		}
	}()
	p.mu.Lock()
	p.ctrlErr = err
	for tok, ch := range p.pending {
		close(ch)
		delete(p.pending, tok)
	}
	close(p.notify)
	p.notify = nil
	p.mu.Unlock()
}

func (p *Phone) dispatch(msg []byte) {
	var kind struct {
		Response bool   `json:"response"`
		Event    bool   `json:"event"`
		Token    string `json:"token"`
	}
	if err := json.Unmarshal(msg, &kind); err != nil {
		p.logf("ctrl_tcp: unparsable message %q: %v", msg, err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case kind.Response:
		var res response
		_ = json.Unmarshal(msg, &res)
		if ch := p.pending[kind.Token]; ch != nil {
			ch <- res
			delete(p.pending, kind.Token)
		}
	case kind.Event:
		var ev Event
		_ = json.Unmarshal(msg, &ev)
		p.events = append(p.events, ev)
		if p.notify != nil {
			close(p.notify)
			p.notify = make(chan struct{})
		}
	}
}

func (p *Phone) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	p.outMu.Lock()
	p.out.WriteString("[test] " + line + "\n")
	p.outMu.Unlock()
	if p.cfg.Log != nil {
		p.cfg.Log("[test] " + line)
	}
}

// Command runs a baresip command (menu's long commands: "uanew", "dial",
// "hangup", "accept", "reginfo", ...) and returns what it printed. A
// command baresip reports as failed returns ErrCommand with its output.
func (p *Phone) Command(ctx context.Context, command, params string) (string, error) {
	p.mu.Lock()
	if p.notify == nil {
		err := p.ctrlErr
		p.mu.Unlock()
		return "", fmt.Errorf("%w: control connection closed: %v", ErrExited, err)
	}
	p.token++
	tok := strconv.Itoa(p.token)
	ch := make(chan response, 1)
	p.pending[tok] = ch
	p.mu.Unlock()
	req := map[string]string{"command": command, "token": tok}
	if params != "" {
		req["params"] = params
	}
	body, _ := json.Marshal(req)
	p.logf("ctrl_tcp <- %s", body)
	p.writeMu.Lock()
	if dl, ok := ctx.Deadline(); ok {
		_ = p.ctrl.SetWriteDeadline(dl)
	}
	_, err := fmt.Fprintf(p.ctrl, "%d:%s,", len(body), body)
	p.writeMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("baresip: send %s: %w", command, err)
	}
	select {
	case res, ok := <-ch:
		if !ok {
			return "", fmt.Errorf("%w during %s", ErrExited, command)
		}
		if !res.OK {
			return res.Data, fmt.Errorf("%w: %s %s: %s", ErrCommand, command, params, strings.TrimSpace(res.Data))
		}
		return res.Data, nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.pending, tok)
		p.mu.Unlock()
		return "", fmt.Errorf("baresip: %s: %w", command, ctx.Err())
	}
}

// WaitEvent returns the next event (in arrival order, each returned once)
// whose type is one of types; events of other types before it are passed
// over. It fails when ctx ends or baresip's control connection closes.
func (p *Phone) WaitEvent(ctx context.Context, types ...string) (Event, error) {
	for {
		p.mu.Lock()
		for p.next < len(p.events) {
			ev := p.events[p.next]
			p.next++
			if slices.Contains(types, ev.Type) {
				p.mu.Unlock()
				return ev, nil
			}
		}
		notify := p.notify
		p.mu.Unlock()
		if notify == nil {
			return Event{}, fmt.Errorf("%w waiting for %v", ErrExited, types)
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("baresip: waiting for %v: %w", types, ctx.Err())
		}
	}
}

// Events returns every event received so far.
func (p *Phone) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// Register creates the account (uanew) and waits for its registration:
// the REGISTER_OK event, or an error carrying REGISTER_FAIL's reason.
func (p *Phone) Register(ctx context.Context, a Account) (Event, error) {
	if _, err := p.Command(ctx, "uanew", a.line()); err != nil {
		return Event{}, err
	}
	for {
		ev, err := p.WaitEvent(ctx, EventRegisterOK, EventRegisterFail)
		if err != nil {
			return Event{}, err
		}
		if ev.AOR != a.AOR() {
			continue
		}
		if ev.Type == EventRegisterFail {
			return ev, fmt.Errorf("baresip: register %s failed: %s", a.AOR(), ev.Param)
		}
		return ev, nil
	}
}

// Dial calls uri with the current account.
func (p *Phone) Dial(ctx context.Context, uri string) error {
	_, err := p.Command(ctx, "dial", uri)
	return err
}

// Hangup ends the current call.
func (p *Phone) Hangup(ctx context.Context) error {
	_, err := p.Command(ctx, "hangup", "")
	return err
}

// Recordings returns the paths of the sndfile recordings of kind "dec"
// (what baresip received, decoded) or "enc" (what it sent), oldest first.
func (p *Phone) Recordings(kind string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(p.cfg.Dir, "dump-*-"+kind+".wav"))
	if err != nil {
		return nil, fmt.Errorf("baresip: %w", err)
	}
	slices.Sort(paths) // the names carry the time, to the second
	return paths, nil
}

// WaitOutput waits until baresip's output matches re and returns the
// first match's submatches. Output and control events travel apart, so an
// event may arrive before the lines baresip printed ahead of it.
func (p *Phone) WaitOutput(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return m, nil
		}
		select {
		case <-tick.C:
		case <-p.done:
			if m := re.FindStringSubmatch(p.Output()); m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("%w; output never matched %s", ErrExited, re)
		case <-ctx.Done():
			return nil, fmt.Errorf("baresip: output never matched %s: %w", re, ctx.Err())
		}
	}
}

// Output returns what baresip printed so far (and the test's control
// traffic, marked [test]).
func (p *Phone) Output() string {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	return p.out.String()
}

// Close asks baresip to quit (it unregisters its accounts), waits at most
// 5 s, then kills it. It returns the exit status (nil for a clean quit).
func (p *Phone) Close() error {
	select {
	case <-p.done:
		_ = p.ctrl.Close()
		<-p.ctrlDone
		return p.werr
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, _ = p.Command(ctx, "quit", "")
	cancel()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.kill()
		return fmt.Errorf("baresip: did not quit within 5s; killed")
	}
	_ = p.ctrl.Close()
	<-p.ctrlDone
	return p.werr
}

// kill ends the process and waits for the readers.
func (p *Phone) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	if p.ctrl != nil {
		_ = p.ctrl.Close()
		<-p.ctrlDone
	}
}
