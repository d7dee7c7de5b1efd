package admin

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sipedge/sipedge/gateway/registrar"
	"github.com/sipedge/sipedge/rtpengine"
)

// The JSON API, one endpoint per kamcli-style verb. Every answer is a JSON
// object; every failure is {"error": "..."} with the matching HTTP status
// (400 bad input, 404 unknown name, 409 not possible in this state, 422
// reload refused, 501 no such source configured). Mutating calls are
// logged at Info.
//
//	GET    /api/v1/registrations            ul dump
//	GET    /api/v1/registrations/{aor}      ul lookup
//	DELETE /api/v1/registrations/{aor}      ul rm
//	GET    /api/v1/dialogs                  dlg list
//	DELETE /api/v1/dialogs/{call_id}        dlg end (BYE both ways, rtpengine delete)
//	GET    /api/v1/rtpengine                rtpengine list
//	POST   /api/v1/rtpengine/{node}/enable  rtpengine enable
//	POST   /api/v1/rtpengine/{node}/disable rtpengine disable
//	POST   /api/v1/reload                   the SIGHUP reload, problems in "problems"
//	GET    /api/v1/drain                    drain state
//	POST   /api/v1/drain                    start draining
//	DELETE /api/v1/drain                    stop draining
//	GET    /api/v1/sets, /trunks, /bans, /tls  (when their owners plugged them in)
//	POST   /api/v1/sets/{set}/members/{member}/{enable|disable}, /trunks/{name}/register,
//	POST   /api/v1/bans, DELETE /api/v1/bans/{address}  (edgeapi.go)
type api struct {
	src Sources
	log *slog.Logger
}

func newAPI(src Sources, log *slog.Logger) *api { return &api{src: src, log: log} }

func (a *api) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/registrations", a.registrations)
	mux.HandleFunc("GET /api/v1/registrations/{aor}", a.lookup)
	mux.HandleFunc("DELETE /api/v1/registrations/{aor}", a.unregister)
	mux.HandleFunc("GET /api/v1/dialogs", a.dialogs)
	mux.HandleFunc("DELETE /api/v1/dialogs/{call_id}", a.endDialog)
	mux.HandleFunc("GET /api/v1/rtpengine", a.nodes)
	mux.HandleFunc("POST /api/v1/rtpengine/{node}/{action}", a.nodeAction)
	mux.HandleFunc("POST /api/v1/reload", a.reload)
	mux.HandleFunc("GET /api/v1/drain", a.drain)
	mux.HandleFunc("POST /api/v1/drain", a.drain)
	mux.HandleFunc("DELETE /api/v1/drain", a.drain)
	mux.HandleFunc("GET /api/v1/sets", a.list(func() (any, bool) { return listOf(a.src.Sets, Sets.ListSets) }))
	mux.HandleFunc("GET /api/v1/trunks", a.list(func() (any, bool) { return listOf(a.src.Trunks, Trunks.ListTrunks) }))
	mux.HandleFunc("GET /api/v1/bans", a.list(func() (any, bool) { return listOf(a.src.Bans, Bans.ListBans) }))
	mux.HandleFunc("GET /api/v1/tls", a.list(func() (any, bool) { return listOf(a.src.Certificates, Certificates.ListCertificates) }))
	a.edgeRoutes(mux)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// Binding is one registered contact as the API shows it.
type Binding struct {
	AOR        string    `json:"aor"`
	Contact    string    `json:"contact"`
	Expires    time.Time `json:"expires"`
	Registered time.Time `json:"registered"`
	Source     string    `json:"source"`    // ip:port the REGISTER came from
	Transport  string    `json:"transport"` // udp, tcp, tls, ws, wss
	Flow       string    `json:"flow,omitempty"`
	Instance   string    `json:"instance,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
}

func bindingsOut(bs []registrar.Binding) []Binding {
	out := make([]Binding, 0, len(bs))
	for _, b := range bs {
		out = append(out, Binding{AOR: b.AOR, Contact: b.Contact.String(), Expires: b.Expires.UTC(),
			Registered: b.Registered.UTC(), Source: b.Source.Addr, Transport: b.Source.Transport,
			Flow: b.Source.FlowID, Instance: b.Instance, UserAgent: b.UserAgent})
	}
	return out
}

func (a *api) registrations(w http.ResponseWriter, _ *http.Request) {
	if a.src.Registrations == nil {
		notConfigured(w, "registrar")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"registrations": bindingsOut(a.src.Registrations.Bindings())})
}

func (a *api) lookup(w http.ResponseWriter, r *http.Request) {
	if a.src.Registrations == nil {
		notConfigured(w, "registrar")
		return
	}
	aor := r.PathValue("aor")
	bs := a.src.Registrations.LookupAOR(aor)
	if len(bs) == 0 {
		writeError(w, http.StatusNotFound, "no registration for "+aor)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"aor": aor, "registrations": bindingsOut(bs)})
}

func (a *api) unregister(w http.ResponseWriter, r *http.Request) {
	if a.src.Registrations == nil {
		notConfigured(w, "registrar")
		return
	}
	aor := r.PathValue("aor")
	n := a.src.Registrations.Unregister(aor)
	a.log.Info("admin: registrations removed", "aor", aor, "removed", n, "src", r.RemoteAddr)
	if n == 0 {
		writeError(w, http.StatusNotFound, "no registration for "+aor)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"aor": aor, "removed": n})
}

func (a *api) dialogs(w http.ResponseWriter, _ *http.Request) {
	if a.src.Dialogs == nil {
		notConfigured(w, "dialogs")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dialogs": a.src.Dialogs.Dialogs()})
}

func (a *api) endDialog(w http.ResponseWriter, r *http.Request) {
	if a.src.Dialogs == nil {
		notConfigured(w, "dialogs")
		return
	}
	id := r.PathValue("call_id")
	n := a.src.Dialogs.EndCall(r.Context(), id)
	a.log.Info("admin: call ended", "call_id", id, "dialogs", n, "src", r.RemoteAddr)
	if n == 0 {
		writeError(w, http.StatusNotFound, "no call with Call-ID "+id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"call_id": id, "ended": n})
}

// Node is one rtpengine node as the API shows it.
type Node struct {
	Address  string `json:"address"`
	Set      string `json:"set"`
	Weight   int    `json:"weight"`
	State    string `json:"state"` // up, overloaded, failed
	Disabled bool   `json:"disabled"`
	Calls    int    `json:"calls"` // calls pinned to it
	Requests uint64 `json:"requests"`
	Timeouts uint64 `json:"timeouts"`
	Errors   uint64 `json:"errors"`
}

func (a *api) nodes(w http.ResponseWriter, _ *http.Request) {
	if a.src.RTPEngine == nil {
		notConfigured(w, "rtpengine")
		return
	}
	var out []Node
	for _, n := range a.src.RTPEngine.Stats() {
		out = append(out, Node{Address: n.Address, Set: n.Set, Weight: n.Weight, State: n.State.String(),
			Disabled: n.Disabled, Calls: n.Pinned, Requests: n.Requests, Timeouts: n.Timeouts, Errors: n.Errors})
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": out})
}

func (a *api) nodeAction(w http.ResponseWriter, r *http.Request) {
	if a.src.RTPEngine == nil {
		notConfigured(w, "rtpengine")
		return
	}
	node, action := r.PathValue("node"), r.PathValue("action")
	var err error
	switch action {
	case "enable":
		err = a.src.RTPEngine.Enable(node)
	case "disable":
		err = a.src.RTPEngine.Disable(node)
	default:
		writeError(w, http.StatusNotFound, "unknown action "+action+" (enable, disable)")
		return
	}
	if errors.Is(err, rtpengine.ErrUnknownNode) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	} else if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	a.log.Info("admin: rtpengine node "+action+"d", "node", node, "src", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"node": node, "disabled": action == "disable"})
}

func (a *api) reload(w http.ResponseWriter, r *http.Request) {
	if a.src.Reload == nil {
		notConfigured(w, "reload")
		return
	}
	if err := a.src.Reload(r.Context()); err != nil {
		a.log.Warn("admin: reload refused, nothing changed", "error", err, "src", r.RemoteAddr)
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error": "reload refused, nothing changed", "problems": problems(err)})
		return
	}
	a.log.Info("admin: configuration reloaded", "src", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"reloaded": true})
}

// problems lists the errors joined in err, one string each.
func problems(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		for _, line := range strings.Split(e.Error(), "\n") {
			if line != "" {
				out = append(out, line)
			}
		}
	}
	walk(err)
	return out
}

func (a *api) drain(w http.ResponseWriter, r *http.Request) {
	d := a.src.Drainer
	if d == nil {
		notConfigured(w, "drain")
		return
	}
	switch r.Method {
	case http.MethodPost:
		was := d.Drain(true)
		a.log.Info("admin: draining: new calls and registrations get 503", "was", was, "src", r.RemoteAddr)
	case http.MethodDelete:
		was := d.Drain(false)
		a.log.Info("admin: draining stopped", "was", was, "src", r.RemoteAddr)
	}
	writeJSON(w, http.StatusOK, map[string]any{"draining": d.Draining()})
}

// list serves an optional provider's listing.
func (a *api) list(get func() (any, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := get()
		if !ok {
			notConfigured(w, strings.TrimPrefix(r.URL.Path, "/api/v1/"))
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// listOf calls f on p unless p is nil.
func listOf[P comparable](p P, f func(P) any) (any, bool) {
	var zero P
	if p == zero {
		return nil, false
	}
	return f(p), true
}

func notConfigured(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotImplemented, what+" is not available in this gateway")
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to tell it
}
