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
	// optional are argument names that may follow args (the last takes
	// the rest of the line); body, if set, is the JSON request body.
	optional []string
	body     func(args []string) any
}

func ctlVerbs() map[string]ctlVerb {
	esc := url.PathEscape
	return map[string]ctlVerb{
		"registrations":   {nil, "GET", func([]string) string { return "/api/v1/registrations" }, tableBindings, nil, nil},
		"lookup":          {[]string{"AOR"}, "GET", func(a []string) string { return "/api/v1/registrations/" + esc(a[0]) }, tableBindings, nil, nil},
		"unregister":      {[]string{"AOR"}, "DELETE", func(a []string) string { return "/api/v1/registrations/" + esc(a[0]) }, tableKV, nil, nil},
		"dialogs":         {nil, "GET", func([]string) string { return "/api/v1/dialogs" }, tableDialogs, nil, nil},
		"end":             {[]string{"CALL-ID"}, "DELETE", func(a []string) string { return "/api/v1/dialogs/" + esc(a[0]) }, tableKV, nil, nil},
		"rtpengine":       {nil, "GET", func([]string) string { return "/api/v1/rtpengine" }, tableNodes, nil, nil},
		"enable":          {[]string{"NODE"}, "POST", func(a []string) string { return "/api/v1/rtpengine/" + esc(a[0]) + "/enable" }, tableKV, nil, nil},
		"disable":         {[]string{"NODE"}, "POST", func(a []string) string { return "/api/v1/rtpengine/" + esc(a[0]) + "/disable" }, tableKV, nil, nil},
		"reload":          {nil, "POST", func([]string) string { return "/api/v1/reload" }, tableKV, nil, nil},
		"drain":           {nil, "POST", func([]string) string { return "/api/v1/drain" }, tableKV, nil, nil},
		"undrain":         {nil, "DELETE", func([]string) string { return "/api/v1/drain" }, tableKV, nil, nil},
		"draining":        {nil, "GET", func([]string) string { return "/api/v1/drain" }, tableKV, nil, nil},
		"tls":             {nil, "GET", func([]string) string { return "/api/v1/tls" }, tableCerts, nil, nil},
		"trunks":          {nil, "GET", func([]string) string { return "/api/v1/trunks" }, tableTrunks, nil, nil},
		"trunks register": {[]string{"NAME"}, "POST", func(a []string) string { return "/api/v1/trunks/" + esc(a[0]) + "/register" }, tableKV, nil, nil},
		"sets":            {nil, "GET", func([]string) string { return "/api/v1/sets" }, tableSets, nil, nil},
		"sets enable":     {[]string{"SET", "MEMBER"}, "POST", func(a []string) string { return memberPath(a, "enable") }, tableKV, nil, nil},
		"sets disable":    {[]string{"SET", "MEMBER"}, "POST", func(a []string) string { return memberPath(a, "disable") }, tableKV, nil, nil},
		"bans":            {nil, "GET", func([]string) string { return "/api/v1/bans" }, tableBans, nil, nil},
		"bans add": {[]string{"ADDRESS"}, "POST", func([]string) string { return "/api/v1/bans" }, tableKV,
			[]string{"DURATION", "REASON"}, banBody},
		"bans lift": {[]string{"ADDRESS"}, "DELETE", func(a []string) string { return "/api/v1/bans/" + esc(a[0]) }, tableKV, nil, nil},
	}
}

// memberPath is the path that enables or disables member a[1] of set a[0].
func memberPath(a []string, action string) string {
	return "/api/v1/sets/" + url.PathEscape(a[0]) + "/members/" + url.PathEscape(a[1]) + "/" + action
}

// banBody is the body of "bans add ADDRESS [DURATION [REASON...]]".
func banBody(a []string) any {
	b := map[string]string{"address": a[0]}
	if len(a) > 1 {
		b["duration"] = a[1]
	}
	if len(a) > 2 {
		b["reason"] = strings.Join(a[2:], " ")
	}
	return b
}

// lookupVerb finds the verb of args: two words ("sets enable") before one.
func lookupVerb(verbs map[string]ctlVerb, args []string) (name string, v ctlVerb, rest []string, ok bool) {
	if len(args) > 1 {
		if v, ok := verbs[args[0]+" "+args[1]]; ok {
			return args[0] + " " + args[1], v, args[2:], true
		}
	}
	v, ok = verbs[args[0]]
	return args[0], v, args[1:], ok
}

// argsFit reports whether n arguments suit v.
func (v ctlVerb) argsFit(n int) bool {
	if len(v.optional) == 0 {
		return n == len(v.args)
	}
	return n >= len(v.args) // the last optional one takes the rest
}

func (v ctlVerb) usage(name string) string {
	parts := append([]string{name}, v.args...)
	for _, o := range v.optional {
		parts = append(parts, "["+o+"]")
	}
	return strings.Join(parts, " ")
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
  trunks               trunks, their registration state and calls [uac.reg_dump]
  trunks register NAME send a REGISTER for trunk NAME now  [uac.reg_refresh]
  sets                 destination sets, their members' state [dispatcher.list]
  sets disable SET MEMBER  no new calls to MEMBER (URI or trunk:NAME, as listed)
                       until enabled, whatever its probes say [dispatcher.set_state i]
  sets enable SET MEMBER   put MEMBER back in the choice      [dispatcher.set_state a]
  bans                 sources banned now, why and until when
  bans add ADDRESS [DURATION [REASON...]]
                       ban an IP address (DURATION e.g. 10m; default ban.time)
  bans lift ADDRESS    lift the ban of ADDRESS`)
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
	name, verb, vargs, ok := lookupVerb(ctlVerbs(), rest)
	if !ok {
		fmt.Fprintf(stderr, "sipedge ctl: unknown verb %q\n", rest[0])
		ctlUsage(stderr)
		return 2
	}
	if !verb.argsFit(len(vargs)) {
		fmt.Fprintf(stderr, "sipedge ctl %s: want %s\n", name, verb.usage(name))
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
	var reqBody []byte
	if verb.body != nil {
		reqBody, _ = json.Marshal(verb.body(vargs)) // strings only: cannot fail
	}
	code, body, err := ctlCall(*addr, *token, verb.method, verb.path(vargs), reqBody, *timeout)
	if err != nil {
		fmt.Fprintln(stderr, "sipedge ctl:", err)
		return 1
	}
	if code/100 != 2 {
		fmt.Fprintf(stderr, "sipedge ctl %s: %s\n", name, serverError(code, body))
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

// ctlCall makes one request to the admin API, with a JSON body unless
// body is nil.
func ctlCall(addr, token, method, path string, body []byte, timeout time.Duration) (int, []byte, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, strings.TrimRight(addr, "/")+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
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
	answer, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	return res.StatusCode, answer, err
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

func tableSets(w io.Writer, body []byte) error {
	var v []struct {
		Name, Algorithm string
		Members         []struct {
			Member                string
			Up, Disabled          bool
			Calls                 int
			RTT                   float64 `json:"rtt_ms"`
			Selections, Failovers uint64
		}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SET\tALGORITHM\tMEMBER\tHEALTH\tADMIN\tCALLS\tRTT MS\tSELECTIONS\tFAILOVERS")
	for _, s := range v {
		for _, m := range s.Members {
			health, admin := "down", "enabled"
			if m.Up {
				health = "up"
			}
			if m.Disabled {
				admin = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.1f\t%d\t%d\n", s.Name, s.Algorithm, m.Member, health, admin,
				m.Calls, m.RTT, m.Selections, m.Failovers)
		}
	}
	return tw.Flush()
}

func tableBans(w io.Writer, body []byte) error {
	var v []struct {
		Address, Reason, Note string
		Since, Until          time.Time
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tREASON\tSINCE\tUNTIL\tLEFT\tNOTE")
	for _, b := range v {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Address, b.Reason, b.Since.UTC().Format(time.RFC3339),
			b.Until.UTC().Format(time.RFC3339), time.Until(b.Until).Round(time.Second), b.Note)
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
