package admin

import (
	"context"
	"net/netip"
	"time"

	"github.com/sipedge/sipedge/gateway/dialog"
	"github.com/sipedge/sipedge/gateway/registrar"
	"github.com/sipedge/sipedge/rtpengine"
	"github.com/sipedge/sipedge/ws"
)

// What the admin server reads and steers, each a small interface its owner
// implements (the gateway, the rtpengine client). A nil source turns its
// endpoints into 501 Not Implemented and leaves its metrics out.

// Registrations is the registrar's view (the gateway implements it).
type Registrations interface {
	// Bindings returns every unexpired binding.
	Bindings() []registrar.Binding
	// LookupAOR returns the unexpired bindings of an address of record.
	LookupAOR(aor string) []registrar.Binding
	// Unregister removes every binding of aor and returns how many.
	Unregister(aor string) int
	// RegistrationCounts returns the registered AORs and contacts.
	RegistrationCounts() (aors, contacts int)
}

// Dialogs is the dialog table's view (the gateway implements it).
type Dialogs interface {
	// Dialogs returns the confirmed calls.
	Dialogs() []dialog.Info
	// EndCall sends BYE to both parties of every dialog of callID and
	// deletes its media; it returns how many dialogs it ended.
	EndCall(ctx context.Context, callID string) int
	// DialogCount is the number of confirmed calls.
	DialogCount() int
	// ActiveTransactions is the number of requests being handled.
	ActiveTransactions() int
}

// Drainer refuses new calls and registrations (the gateway implements it).
type Drainer interface {
	// Drain sets the draining state and returns the previous one.
	Drain(on bool) bool
	// Draining reports the draining state.
	Draining() bool
}

// WebSockets counts the WebSocket edge (the gateway implements it).
type WebSockets interface {
	// WSConns returns the open flows by transport.
	WSConns() (ws, wss int)
	// WSRefusals returns the refused upgrades by reason.
	WSRefusals() []ws.Refusal
}

// RTPEngine is the rtpengine client's view (*rtpengine.Client).
type RTPEngine interface {
	// Stats returns every node's health and counters.
	Stats() []rtpengine.NodeStats
	// Enable puts an operator-disabled node back into the choice.
	Enable(addr string) error
	// Disable takes a node out of the choice for new calls.
	Disable(addr string) error
}

// ReloadFunc is the configuration reload SIGHUP runs: it validates the
// file and swaps the new rules in, or changes nothing and returns every
// problem found (errors.Join of errors naming file:line and field).
type ReloadFunc func(ctx context.Context) error

// The providers below belong to other rooms (destination sets, trunks,
// bans, TLS certificates); their owners plug them in. Listings are
// encoded as JSON as they are.

// Sets lists destination sets and steers their members (the gateway).
type Sets interface {
	// ListSets is what GET /api/v1/sets answers.
	ListSets() any
	// SetMemberEnabled takes member (its URI as listed, or trunk:NAME)
	// of set out of the choice for new calls (on false) or puts it back;
	// sets.ErrNoSet or sets.ErrNoMember for unknown names.
	SetMemberEnabled(set, member string, on bool) error
}

// Trunks lists trunks and re-registers one (the gateway).
type Trunks interface {
	// ListTrunks is what GET /api/v1/trunks answers.
	ListTrunks() any
	// Reregister makes a trunk send a REGISTER now: trunk.ErrNoTrunk for
	// an unknown name, trunk.ErrNotRegistering for a trunk that does not
	// register.
	Reregister(name string) error
}

// Bans lists, adds and lifts bans (the gateway, over gateway/ban).
type Bans interface {
	// ListBans is what GET /api/v1/bans answers.
	ListBans() any
	// Ban bans addr for d (ban.time when 0) with the operator's note and
	// returns when the ban ends.
	Ban(addr netip.Addr, d time.Duration, note string) time.Time
	// Unban lifts addr's ban; false when none was in force.
	Unban(addr netip.Addr) bool
}

// Certificates lists the TLS certificates in service and their expiry.
type Certificates interface {
	// ListCertificates is what GET /api/v1/tls answers.
	ListCertificates() any
	// CertificateExpiries returns every certificate in service, read when
	// /metrics is scraped (so a reload or an ACME renewal shows at once).
	CertificateExpiries() []CertificateExpiry
}

// CertificateExpiry is one TLS certificate in service: its name (the
// first of its configured names, or "default" for tls.cert) and when it
// expires.
type CertificateExpiry struct {
	Name     string
	NotAfter time.Time
}

// Sources are what a Server reads and steers; any may be nil.
type Sources struct {
	Registrations Registrations
	Dialogs       Dialogs
	Drainer       Drainer
	WebSockets    WebSockets
	RTPEngine     RTPEngine
	Reload        ReloadFunc

	Sets         Sets
	Trunks       Trunks
	Bans         Bans
	Certificates Certificates
	// Edge feeds the trunk, set member and ban metrics (nil: none).
	Edge EdgeStats
}

// EdgeStats is what /metrics reads about trunks, destination sets and
// bans when it is scraped.
type EdgeStats interface {
	// TrunkStats lists every trunk.
	TrunkStats() []TrunkStat
	// SetMemberStats lists every destination set member.
	SetMemberStats() []SetMemberStat
	// BanStats returns the bans in force and the bans entered since
	// start by reason (rate, auth, scanner, manual).
	BanStats() (active int, total map[string]uint64)
}

// TrunkStat is one trunk's registration state (starting, registering,
// registered, failed, forbidden, closed, standby; "" when it does not
// register) and its calls in progress.
type TrunkStat struct {
	Name, State string
	Calls       int
}

// SetMemberStat is one destination set member's state (Up: healthy and
// not disabled; Disabled: by an operator), the branches sent to it
// (Selections) and those that failed over to the next member (Failovers:
// 408, 5xx, no answer).
type SetMemberStat struct {
	Set, Member           string
	Up, Disabled          bool
	Selections, Failovers uint64
}
