package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/sipedge/sipedge/gateway/sets"
	"github.com/sipedge/sipedge/gateway/trunk"
)

// The steering verbs of destination sets, trunks and bans (kamcli's
// dispatcher.set_state, uac.reg_refresh, and the ban table's add and
// lift), beside their listings in api.go:
//
//	POST   /api/v1/sets/{set}/members/{member}/enable   dispatcher.set_state a
//	POST   /api/v1/sets/{set}/members/{member}/disable  dispatcher.set_state i
//	POST   /api/v1/trunks/{name}/register               uac.reg_refresh
//	POST   /api/v1/bans   {"address", "duration", "reason"}  ban by hand
//	DELETE /api/v1/bans/{address}                       lift a ban
//
// A member is named as GET /api/v1/sets lists it: its URI or trunk:NAME
// (path-escaped).

func (a *api) edgeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/sets/{set}/members/{member}/{action}", a.memberAction)
	mux.HandleFunc("POST /api/v1/trunks/{name}/register", a.reregister)
	mux.HandleFunc("POST /api/v1/bans", a.addBan)
	mux.HandleFunc("DELETE /api/v1/bans/{address}", a.liftBan)
}

func (a *api) memberAction(w http.ResponseWriter, r *http.Request) {
	if a.src.Sets == nil {
		notConfigured(w, "sets")
		return
	}
	set, member, action := r.PathValue("set"), r.PathValue("member"), r.PathValue("action")
	var on bool
	switch action {
	case "enable":
		on = true
	case "disable":
	default:
		writeError(w, http.StatusNotFound, "unknown action "+action+" (enable, disable)")
		return
	}
	err := a.src.Sets.SetMemberEnabled(set, member, on)
	if errors.Is(err, sets.ErrNoSet) || errors.Is(err, sets.ErrNoMember) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	} else if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	a.log.Info("admin: set member "+action+"d", "set", set, "member", member, "src", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"set": set, "member": member, "disabled": !on})
}

func (a *api) reregister(w http.ResponseWriter, r *http.Request) {
	if a.src.Trunks == nil {
		notConfigured(w, "trunks")
		return
	}
	name := r.PathValue("name")
	err := a.src.Trunks.Reregister(name)
	switch {
	case errors.Is(err, trunk.ErrNoTrunk):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, trunk.ErrNotRegistering):
		writeError(w, http.StatusConflict, err.Error()+" (set register: true to register it)")
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	a.log.Info("admin: trunk registering now", "trunk", name, "src", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"trunk": name, "registering": true})
}

// BanRequest is the body of POST /api/v1/bans.
type BanRequest struct {
	// Address is the IP address to ban (IPv4 or IPv6, no port).
	Address string `json:"address"`
	// Duration is how long, a Go duration ("10m", "2h"); empty: ban.time.
	Duration string `json:"duration,omitempty"`
	// Reason is the operator's note, listed and logged with the ban.
	Reason string `json:"reason,omitempty"`
}

// maxBanDuration is the longest manual ban, ban.time's upper bound.
const maxBanDuration = 30 * 24 * time.Hour

// maxBanBody caps POST /api/v1/bans' body.
const maxBanBody = 4 << 10

func (a *api) addBan(w http.ResponseWriter, r *http.Request) {
	if a.src.Bans == nil {
		notConfigured(w, "bans")
		return
	}
	var req BanRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBanBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: want {\"address\": IP, \"duration\": \"10m\", \"reason\": text}: "+err.Error())
		return
	}
	addr, d, err := req.parse()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	until := a.src.Bans.Ban(addr, d, req.Reason)
	a.log.Info("admin: source banned", "address", addr.String(), "until", until.UTC().Format(time.RFC3339),
		"note", req.Reason, "src", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"address": addr.String(), "banned": true, "until": until.UTC(), "note": req.Reason})
}

// parse checks a ban request: an IP address, a duration between 1s and
// 30 days (0: ban.time).
func (req BanRequest) parse() (netip.Addr, time.Duration, error) {
	var errs []error
	addr, err := netip.ParseAddr(req.Address)
	if err != nil {
		errs = append(errs, fmt.Errorf("address %q: want an IP address without a port", req.Address))
	}
	var d time.Duration
	if req.Duration != "" {
		d, err = time.ParseDuration(req.Duration)
		if err != nil || d < time.Second || d > maxBanDuration {
			errs = append(errs, fmt.Errorf("duration %q: want a duration between 1s and %v (e.g. 10m, 2h)", req.Duration, maxBanDuration))
		}
	}
	return addr.Unmap(), d, errors.Join(errs...)
}

func (a *api) liftBan(w http.ResponseWriter, r *http.Request) {
	if a.src.Bans == nil {
		notConfigured(w, "bans")
		return
	}
	s := r.PathValue("address")
	addr, err := netip.ParseAddr(s)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("address %q: want an IP address without a port", s))
		return
	}
	if !a.src.Bans.Unban(addr.Unmap()) {
		writeError(w, http.StatusNotFound, "no ban in force for "+addr.Unmap().String())
		return
	}
	a.log.Info("admin: ban lifted", "address", addr.Unmap().String(), "src", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"address": addr.Unmap().String(), "banned": false})
}
