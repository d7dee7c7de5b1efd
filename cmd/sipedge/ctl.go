package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sipedge/sipedge/config"
)

// ctlVerb is one "sipedge ctl" verb: the admin API call it makes and how
// its answer is shown to people.
type ctlVerb struct {
	args   []string // argument names, for usage and checking
	method string
	path   func(args []string) string
	table  func(w io.Writer, body []byte) error
}

func ctlVerbs() map[string]ctlVerb {
	esc := url.PathEscape
	return map[string]ctlVerb{
		"registrations": {nil, "GET", func([]string) string { return "/api/v1/registrations" }, tableBindings},
		"lookup":        {[]string{"AOR"}, "GET", func(a []string) string { return "/api/v1/registrations/" + esc(a[0]) }, tableBindings},
		"unregister":    {[]string{"AOR"}, "DELETE", func(a []string) string { return "/api/v1/registrations/" + esc(a[0]) }, tableKV},
		"dialogs":       {nil, "GET", func([]string) string { return "/api/v1/dialogs" }, tableDialogs},
		"end":           {[]string{"CALL-ID"}, "DELETE", func(a []string) string { return "/api/v1/dialogs/" + esc(a[0]) }, tableKV},
		"rtpengine":     {nil, "GET", func([]string) string { return "/api/v1/rtpengine" }, tableNodes},
		"enable":        {[]string{"NODE"}, "POST", func(a []string) string { return "/api/v1/rtpengine/" + esc(a[0]) + "/enable" }, tableKV},
		"disable":       {[]string{"NODE"}, "POST", func(a []string) string { return "/api/v1/rtpengine/" + esc(a[0]) + "/disable" }, tableKV},
		"reload":        {nil, "POST", func([]string) string { return "/api/v1/reload" }, tableKV},
		"drain":         {nil, "POST", func([]string) string { return "/api/v1/drain" }, tableKV},
		"undrain":       {nil, "DELETE", func([]string) string { return "/api/v1/drain" }, tableKV},
		"draining":      {nil, "GET", func([]string) string { return "/api/v1/drain" }, tableKV},
		"tls":           {nil, "GET", func([]string) string { return "/api/v1/tls" }, tableCerts},
		"trunks":        {nil, "GET", func([]string) string { return "/api/v1/trunks" }, tableTrunks},
	}
}

func ctlUsage(w io.Writer) {
	fmt.Fprintln(w, `usage: sipedge ctl [--addr HOST:PORT | --config FILE] [--token TOKEN] [--json] VERB [ARG]

The admin server is found by --addr, else by admin.listen and admin.token in
--config FILE, else $SIPEDGE_ADMIN (HOST:PORT); the token is --token, else
$SIPEDGE_ADMIN_TOKEN, else admin.token of FILE.

verbs (kamcli's in brackets):
  registrations        list registered contacts          [ul dump]
  lookup AOR           contacts of one address of record [ul lookup]
  unregister AOR       remove every contact of AOR       [ul rm]
  dialogs              list confirmed calls              [dlg list]
  end CALL-ID          BYE both parties, delete media    [dlg end_dlg]
  rtpengine            list rtpengine nodes              [rtpengine show]
  enable NODE          put a node back in service        [rtpengine enable]
  disable NODE         take a node out for new calls     [rtpengine enable 0]
  reload               validate and reload the configuration (as SIGHUP)
  drain                refuse new calls and registrations (503), let calls end
  undrain              stop draining
  draining             show the drain state
  tls                  TLS certificates in service and their expiry
  trunks               trunks, their registration state and calls [uac.reg_dump]`)
}

// ctl runs "sipedge ctl": one API call, its answer printed as a table (or
// as the server's JSON with --json), the server's error text on failure.
func ctl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { ctlUsage(stderr) }
	addr := fs.String("addr", "", "admin server HOST:PORT")
	cfgPath := fs.String("config", "", "sipedge configuration file to read admin.listen and admin.token from")
	token := fs.String("token", "", "bearer token (admin.token)")
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	timeout := fs.Duration("timeout", 10*time.Second, "request timeout")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] == "help" {
		ctlUsage(stdout)
		if len(rest) == 0 {
			return 2
		}
		return 0
	}
	verb, ok := ctlVerbs()[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "sipedge ctl: unknown verb %q\n", rest[0])
		ctlUsage(stderr)
		return 2
	}
	if len(rest)-1 != len(verb.args) {
		fmt.Fprintf(stderr, "sipedge ctl %s: want %s\n", rest[0], strings.Join(append([]string{rest[0]}, verb.args...), " "))
		return 2
	}
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if *addr == "" {
			*addr = cfg.Admin.Listen
		}
		if *token == "" {
			*token = cfg.Admin.Token
		}
	}
	if *addr == "" {
		*addr = os.Getenv("SIPEDGE_ADMIN")
	}
	if *token == "" {
		*token = os.Getenv("SIPEDGE_ADMIN_TOKEN")
	}
	if *addr == "" {
		fmt.Fprintln(stderr, "sipedge ctl: no admin server: give --addr, --config or $SIPEDGE_ADMIN")
		return 2
	}
	code, body, err := ctlCall(*addr, *token, verb.method, verb.path(rest[1:]), *timeout)
	if err != nil {
		fmt.Fprintln(stderr, "sipedge ctl:", err)
		return 1
	}
	if code/100 != 2 {
		fmt.Fprintf(stderr, "sipedge ctl %s: %s\n", rest[0], serverError(code, body))
		return 1
	}
	if *asJSON {
		_, _ = stdout.Write(body)
		return 0
	}
	if err := verb.table(stdout, body); err != nil {
		fmt.Fprintln(stderr, "sipedge ctl:", err)
		return 1
	}
	return 0
}

// ctlCall makes one request to the admin API.
func ctlCall(addr, token, method, path string, timeout time.Duration) (int, []byte, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	req, err := http.NewRequest(method, strings.TrimRight(addr, "/")+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	cl := &http.Client{Timeout: timeout}
	res, err := cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	return res.StatusCode, body, err
}

// serverError is the server's error text: "error" and any "problems" of
// a JSON error body, else the body itself, with the HTTP status.
func serverError(code int, body []byte) string {
	var e struct {
		Error    string   `json:"error"`
		Problems []string `json:"problems"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
		for _, p := range e.Problems {
			msg += "\n  " + p
		}
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, code)
}

func tableBindings(w io.Writer, body []byte) error {
	var v struct {
		Registrations []struct {
			AOR, Contact, Source, Transport, UserAgent string
			Expires                                    time.Time
		}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AOR\tCONTACT\tTRANSPORT\tSOURCE\tEXPIRES IN\tUSER AGENT")
	for _, b := range v.Registrations {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.AOR, b.Contact, b.Transport, b.Source,
			time.Until(b.Expires).Round(time.Second), b.UserAgent)
	}
	return tw.Flush()
}

func tableDialogs(w io.Writer, body []byte) error {
	var v struct {
		Dialogs []struct {
			CallID   string `json:"call_id"`
			Caller   string
			Callee   string
			Started  time.Time
			Anchored bool
			Node     string `json:"rtpengine"`
		}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CALL-ID\tCALLER\tCALLEE\tDURATION\tRTPENGINE")
	for _, d := range v.Dialogs {
		node := "-"
		if d.Anchored {
			node = d.Node
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.CallID, d.Caller, d.Callee, time.Since(d.Started).Round(time.Second), node)
	}
	return tw.Flush()
}

func tableNodes(w io.Writer, body []byte) error {
	var v struct {
		Nodes []struct {
			Address, Set, State        string
			Weight, Calls              int
			Disabled                   bool
			Requests, Timeouts, Errors uint64
		}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSET\tWEIGHT\tSTATE\tDISABLED\tCALLS\tREQUESTS\tTIMEOUTS\tERRORS")
	for _, n := range v.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%t\t%d\t%d\t%d\t%d\n", n.Address, n.Set, n.Weight, n.State, n.Disabled, n.Calls, n.Requests, n.Timeouts, n.Errors)
	}
	return tw.Flush()
}

func tableCerts(w io.Writer, body []byte) error {
	var v struct {
		Certificates []struct {
			Name, Source, Issuer string
			Names                []string
			NotAfter             time.Time `json:"not_after"`
		}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE\tNOT AFTER\tEXPIRES IN\tNAMES\tISSUER")
	for _, c := range v.Certificates {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Source, c.NotAfter.UTC().Format(time.RFC3339),
			time.Until(c.NotAfter).Round(time.Second), strings.Join(c.Names, ","), c.Issuer)
	}
	return tw.Flush()
}

func tableTrunks(w io.Writer, body []byte) error {
	var v []struct {
		Name, State, Reason, Hop string
		URIs                     []string
		Code, Calls              int
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TRUNK\tSTATE\tCODE\tHOP\tCALLS\tURIS")
	for _, t := range v {
		state := t.State
		if state == "" {
			state = "-" // does not register
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\n", t.Name, state, t.Code, t.Hop, t.Calls, strings.Join(t.URIs, ","))
	}
	return tw.Flush()
}

// tableKV prints a flat JSON object as "key: value" lines, keys sorted.
func tableKV(w io.Writer, body []byte) error {
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range slices.Sorted(maps.Keys(v)) {
		fmt.Fprintf(tw, "%s:\t%v\n", k, v[k])
	}
	return tw.Flush()
}
