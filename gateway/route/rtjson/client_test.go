package rtjson

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestClientKeepAliveAndDeadline(t *testing.T) {
	var conns atomic.Int32
	var got Query
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		if r.URL.Path == "/500" {
			http.Error(w, "boom", 500)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = w.Write([]byte(`{"version":"1.0","routes":[{"uri":"sip:bob@10.0.0.5"}]}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := NewClient(4)
	defer c.Close()
	q := Query{Version: "1.0", Method: "INVITE", RURI: "sip:bob@example.test", CallID: "c1"}
	for range 5 {
		d, err := c.Ask(context.Background(), srv.URL+"/route", q)
		if err != nil || len(d.Branches) != 1 {
			t.Fatalf("Ask: %+v, %v", d, err)
		}
	}
	if got.CallID != "c1" || got.Method != "INVITE" {
		t.Errorf("service got %+v", got)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 queries took %d connections, want 1 (keep-alive)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Ask(ctx, srv.URL+"/slow", q); !errors.Is(err, ErrService) || time.Since(start) > time.Second {
		t.Fatalf("slow service: %v after %v, want ErrService at the 200ms deadline", err, time.Since(start))
	}
	if _, err := c.Ask(context.Background(), srv.URL+"/500", q); !errors.Is(err, ErrService) {
		t.Fatalf("HTTP 500: %v, want ErrService", err)
	}
}
