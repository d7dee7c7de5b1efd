package admin

import (
	_ "embed"
	"net/http"
)

//go:embed ladder.html
var ladderPage []byte

// ladderRoutes serves the call-ladder page and its data from ring.
func ladderRoutes(mux *http.ServeMux, ring *Ring) {
	mux.HandleFunc("GET /ladder", func(w http.ResponseWriter, r *http.Request) {
		if ring == nil {
			notConfigured(w, "the call ladder")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src data:; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
		_, _ = w.Write(ladderPage)
	})
	mux.HandleFunc("GET /api/v1/calls", func(w http.ResponseWriter, _ *http.Request) {
		if ring == nil {
			notConfigured(w, "the call ladder")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"calls": ring.Calls()})
	})
	mux.HandleFunc("GET /api/v1/calls/{call_id}", func(w http.ResponseWriter, r *http.Request) {
		if ring == nil {
			notConfigured(w, "the call ladder")
			return
		}
		id := r.PathValue("call_id")
		l, ok := ring.Call(id)
		if !ok {
			writeError(w, http.StatusNotFound, "no call with Call-ID "+id+" in the ring")
			return
		}
		writeJSON(w, http.StatusOK, l)
	})
}
