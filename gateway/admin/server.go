package admin

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the admin HTTP server. Listen opens its socket and starts it;
// Close stops it.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	log  *slog.Logger
	wg   sync.WaitGroup
	once sync.Once
}

// Options are what a Server serves: the metrics registry (nil: no
// /metrics) and the sources of the JSON API. Logger may be nil.
type Options struct {
	Metrics *Metrics
	Sources Sources
	// Ring holds the last calls' messages for the call-ladder page
	// (/ladder); nil: no page.
	Ring   *Ring
	Logger *slog.Logger
}

// Listen opens cfg.Listen and serves the admin endpoints on it until
// Close. cfg must be enabled and valid.
func Listen(cfg Config, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "admin")
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{
		ln:  ln,
		log: log,
		srv: &http.Server{
			Handler:           Handler(cfg.Token, Options{Metrics: opts.Metrics, Sources: opts.Sources, Ring: opts.Ring, Logger: log}),
			ReadHeaderTimeout: 5 * time.Second,
			IdleTimeout:       time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
	}
	s.wg.Add(1)
	go func() { // owner: s; stopped and waited by Close
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin server stopped", "error", err)
		}
	}()
	return s, nil
}

// Addr returns the bound address (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, ends its connections (a CPU profile or trace in
// progress included) and waits for it. It is idempotent.
func (s *Server) Close() error {
	s.once.Do(func() {
		_ = s.srv.Close()
		s.wg.Wait()
	})
	return nil
}

// Handler returns the admin endpoints: /metrics (when opts.Metrics is
// set), the JSON API under /api/v1/ (api.go) and /debug/pprof/ (index,
// every runtime profile by name, cmdline, profile, symbol, trace). A
// non-empty token is required as "Authorization: Bearer TOKEN" (401
// otherwise).
func Handler(token string, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	if opts.Metrics != nil {
		opts.Metrics.reg.MustRegister(sourceCollector{opts.Sources})
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Metrics.reg, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), ErrorHandling: promhttp.ContinueOnError}))
	}
	newAPI(opts.Sources, log).routes(mux)
	ladderRoutes(mux, opts.Ring)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if token == "" {
		return mux
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sipedge admin"`)
			writeError(w, http.StatusUnauthorized, "unauthorized: a valid \"Authorization: Bearer TOKEN\" header is required")
			return
		}
		mux.ServeHTTP(w, r)
	})
}
