// Command sipedge is the sipedge gateway: "sipedge serve FILE" runs it,
// "sipedge check FILE" validates a configuration and prints every problem,
// "sipedge version" prints the version. FILE may also be given as
// --config FILE.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/gateway"
	"github.com/sipedge/sipedge/gateway/admin"
	"github.com/sipedge/sipedge/gateway/ban"
	"github.com/sipedge/sipedge/gateway/cdr"
	"github.com/sipedge/sipedge/gateway/cluster"
	"github.com/sipedge/sipedge/gateway/hep"
	"github.com/sipedge/sipedge/gateway/lograte"
	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/wire"
	"github.com/sipedge/sipedge/rtpengine"
	edgetls "github.com/sipedge/sipedge/tls"
	webdemo "github.com/sipedge/sipedge/web-demo"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// sipgo's process-wide knobs, set once before any user agent exists
	// (the default logger needs the configured one: serve sets it).
	// Browser SDPs make INVITEs larger than sipgo's 1300-byte UDP limit;
	// send them whole (IP fragmentation), as Kamailio does.
	sip.UDPMTUSize = 65535
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage:
  sipedge serve [--config] FILE   run the gateway
  sipedge check [--config] FILE   validate FILE, print every problem, exit 1 if any
  sipedge ctl [flags] VERB ...    speak to a running gateway's admin API (sipedge ctl help)
  sipedge version                 print the version`)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "sipedge", version)
		return 0
	case "check", "serve":
	case "ctl":
		return ctl(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "sipedge: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (YAML)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	switch rest := fs.Args(); {
	case len(rest) > 1 || (len(rest) == 1 && *path != ""):
		fmt.Fprintf(stderr, "sipedge %s: one configuration file, as FILE or --config FILE\n", args[0])
		usage(stderr)
		return 2
	case len(rest) == 1:
		*path = rest[0]
	case *path == "":
		fmt.Fprintf(stderr, "sipedge %s: a configuration FILE is required (sipedge %s FILE)\n", args[0], args[0])
		usage(stderr)
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if args[0] == "check" {
		fmt.Fprintf(stdout, "%s: ok\n", *path)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *path, cfg, stderr); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "sipedge:", err)
		return 1
	}
	return 0
}

// serve wires the configuration into the gateway and runs it.
func serve(ctx context.Context, path string, cfg *config.Config, stderr io.Writer) error {
	log := newLogger(cfg.Log, stderr)
	// sipgo's process-wide default logger (used where no logger was
	// injected, e.g. "UDP ref went negative"), set once before any user
	// agent exists: our format, its chatter at Debug, rate-limited.
	sipLog, closeSIPLog := lograte.SIPLogger(log)
	defer closeSIPLog()
	sip.SetDefaultLogger(sipLog)
	gateway.ApplyProcessTimers(cfg.Gateway)
	applyRuntime(cfg.Runtime, log)
	deps := gateway.Deps{Logger: log, WS: cfg.WS, TCP: cfg.TCP, NAT: cfg.NAT, HTTP: webdemo.Handler()}
	for _, l := range cfg.Listeners() {
		deps.Listeners = append(deps.Listeners, gateway.Listener{Transport: l.Scheme, Addr: l.Addr, Path: l.Path})
	}
	raiseFileLimit(log, connCaps(cfg))
	var store *cluster.Store
	if cfg.Cluster.Enabled() {
		cluster.SetLibraryLogger(log)
		var err error
		store, err = cluster.NewStore(cfg.Cluster, log)
		if err != nil {
			return err
		}
		defer store.Close() // after the gateway: its last writes still go out
		deps.Locations, deps.Cluster, deps.Nonces, deps.Leases, deps.Counters, deps.SetCounts = store, store, store, store, store, store
		log.Info("cluster node", "node", cfg.Cluster.Node, "redis", redactedURL(cfg.Cluster.Redis), "down", store.Stats().Down)
	}
	if !cfg.Ban.Off {
		var opts []ban.Option
		if store != nil { // bans are cluster-wide
			opts = append(opts, ban.WithShare(func(e ban.Entry) { store.PublishBan(e.Addr, e.Reason, e.Until) }))
		}
		bans, err := newBans(cfg, log, opts...)
		if err != nil {
			return err
		}
		defer bans.Close()
		deps.Ban = bans
		if store != nil {
			store.SetBanSink(func(b cluster.Ban) { bans.Apply(ban.Entry{Addr: b.Addr, Reason: b.Reason, Until: b.Until}) })
		}
	}
	var certs *edgetls.Certificates
	if cfg.TLS.Enabled() {
		var err error
		if certs, err = cfg.TLS.LoadCertificatesLog(log.With("component", "tls")); err != nil {
			return err
		}
		defer certs.Close()
		deps.TLS = certs.ServerConfig()
		deps.TLSPeers = certs
		log.Info("tls certificate", "subject", certs.Subject(), "not_after", certs.NotAfter(), "certificates", certs.Count())
	}
	ctc, err := cfg.TLS.ClientConfig()
	if err != nil {
		return err
	}
	deps.ClientTLS = ctc
	deps.Ready = func(bound []gateway.Listener) {
		if certs != nil {
			// The listeners answer the TLS-ALPN-01 challenge: obtain now.
			if err := certs.ManageACME(ctx); err != nil {
				log.Error("acme not started", "error", err)
			}
		}
		for _, b := range bound {
			if b.Path != "" {
				log.Info("listening", "transport", b.Transport, "addr", b.Addr, "path", b.Path)
			} else {
				log.Info("listening", "transport", b.Transport, "addr", b.Addr)
			}
		}
	}
	var metrics *admin.Metrics
	if cfg.Admin.Enabled() {
		metrics = admin.NewMetrics()
		deps.Metrics = metrics
	}
	var taps wire.Taps
	var ring *admin.Ring
	if cfg.Admin.Enabled() && cfg.Admin.LadderCalls > 0 {
		ring = admin.NewRing(cfg.Admin.LadderCalls)
		taps = append(taps, ring)
	}
	if cfg.HEP.Enabled() {
		capture, err := hep.New(cfg.HEP, log)
		if err != nil {
			return err
		}
		defer capture.Close() // after the gateway: it taps until Run returns
		taps = append(taps, capture)
		log.Info("hep capture", "addr", cfg.HEP.Address, "transport", cfg.HEP.Transport, "capture_id", cfg.HEP.CaptureID)
	}
	if len(taps) > 0 {
		deps.Tap = taps
	}
	records, err := cdr.NewWriter(cfg.CDR, log)
	if err != nil {
		return err
	}
	defer records.Close() // after the gateway: it records until Run returns
	deps.CallRecords = records
	switch {
	case metrics != nil && ring != nil:
		deps.CallRecords = cdr.Recorders{records, metrics, ring}
	case metrics != nil:
		deps.CallRecords = cdr.Recorders{records, metrics}
	}
	if len(cfg.RTPEngine.Nodes) > 0 {
		rtp, err := rtpengine.New(cfg.RTPEngine, log)
		if err != nil {
			return err
		}
		deps.RTP = rtp
	}
	gw, err := gateway.New(cfg.Gateway, deps)
	if err != nil {
		if deps.RTP != nil {
			_ = deps.RTP.Close()
		}
		return err
	}
	reload := reloader(path, certs, gw, log)
	hupCtx, cancel := context.WithCancel(ctx)
	reloads := reloadOnHangup(hupCtx, reload, log)
	defer reloads.Wait()
	if certs != nil {
		reloads.Add(1)
		go func() { // owner: serve; stopped by hupCtx, waited with reloads
			defer reloads.Done()
			certs.Watch(hupCtx, cfg.TLS.Watch, log.With("component", "tls"))
		}()
	}
	defer cancel()
	if cfg.Admin.Enabled() {
		src := admin.Sources{Registrations: gw, Dialogs: gw, Drainer: gw, WebSockets: gw, Sets: gw, Trunks: gw, Reload: reload, Edge: gw}
		if deps.Ban != nil { // ban.off: no table to list or steer
			src.Bans = gw
		}
		if deps.RTP != nil {
			src.RTPEngine = deps.RTP
		}
		if certs != nil {
			src.Certificates = certSource{certs}
		}
		adm, err := admin.Listen(cfg.Admin, admin.Options{Metrics: metrics, Sources: src, Ring: ring, Logger: log})
		if err != nil {
			_ = gw.Close()
			return err
		}
		defer adm.Close()
		log.Info("admin listening", "addr", adm.Addr(), "token", cfg.Admin.Token != "")
	}
	return runDraining(ctx, gw, cfg.Shutdown.Drain, log)
}

// runDraining runs gw until ctx ends (SIGTERM); with a drain time it then
// drains first (Gateway.DrainCalls) and stops the gateway when the calls
// have ended or the time is up.
func runDraining(ctx context.Context, gw *gateway.Gateway, drain time.Duration, log *slog.Logger) error {
	if drain <= 0 {
		return gw.Run(ctx)
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owner: runDraining; ends with runCtx, waited below
		defer wg.Done()
		select {
		case <-runCtx.Done():
			return
		case <-ctx.Done():
		}
		log.Info("draining: new calls and registrations refused, browsers asked to reconnect", "for", drain)
		left := gw.DrainCalls(runCtx, drain)
		log.Info("drained: stopping", "calls_left", left)
		stopRun()
	}()
	err := gw.Run(runCtx)
	stopRun()
	wg.Wait()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return err
}

// newBans builds the ban table, which never bans the trusted networks.
func newBans(cfg *config.Config, log *slog.Logger, opts ...ban.Option) (*ban.Bans, error) {
	var trusted []netip.Prefix
	for _, t := range cfg.Gateway.Trusted {
		p, err := route.ParsePrefix(t)
		if err != nil {
			return nil, fmt.Errorf("trusted %q: %w", t, err)
		}
		trusted = append(trusted, p)
	}
	return ban.New(cfg.Ban, trusted, log, opts...), nil
}

// reloadOnHangup runs reload on every SIGHUP (e.g. from a certbot deploy
// hook) until ctx ends; the caller waits on the result. Connections
// already up keep their certificate. A failed reload is logged and
// changes nothing, never fatal.
func reloadOnHangup(ctx context.Context, reload admin.ReloadFunc, log *slog.Logger) *sync.WaitGroup {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owner: serve; stopped by ctx, waited by serve
		defer wg.Done()
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := reload(ctx); err != nil {
					log.Error("SIGHUP: reload", "error", err)
				}
			}
		}
	}()
	return &wg
}

// connCaps is how many descriptors the connection caps of the configured
// listeners may take, plus a margin for the process's own.
func connCaps(cfg *config.Config) uint64 {
	var tcp, ws bool
	for _, l := range cfg.Listeners() {
		tcp = tcp || l.Scheme == "tcp" || l.Scheme == "tls"
		ws = ws || l.Scheme == "ws" || l.Scheme == "wss"
	}
	n := uint64(64)
	if tcp {
		n += uint64(cfg.TCP.MaxConns)
	}
	if ws {
		n += uint64(cfg.WS.MaxConns)
	}
	return n
}

// applyRuntime sets the garbage collector's memory limit and percentage
// from the configuration; zero values leave Go's (and GOMEMLIMIT/GOGC's).
func applyRuntime(c config.Runtime, log *slog.Logger) {
	if c.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(c.MemoryLimitMB << 20)
	}
	if c.GCPercent != 0 {
		debug.SetGCPercent(c.GCPercent)
	}
	if c.MemoryLimitMB > 0 || c.GCPercent != 0 {
		log.Info("runtime", "memory_limit_mb", c.MemoryLimitMB, "gc_percent", c.GCPercent)
	}
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level)) // validated already
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redactedURL is u without its password, for logs.
func redactedURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable)"
	}
	return p.Redacted()
}
