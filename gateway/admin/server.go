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

// Listen opens cfg.Listen and serves the admin endpoints on it until
// Close. cfg must be enabled and valid. log may be nil.
func Listen(cfg Config, log *slog.Logger) (*Server, error) {
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
			Handler:           Handler(cfg.Token),
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

// Handler returns the admin endpoints: /debug/pprof/ (index, every
// runtime profile by name, cmdline, profile, symbol, trace). A non-empty
// token is required as "Authorization: Bearer TOKEN" (401 otherwise).
func Handler(token string) http.Handler {
	mux := http.NewServeMux()
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
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
