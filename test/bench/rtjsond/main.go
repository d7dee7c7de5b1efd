// Command rtjsond is the routing service of test/bench/routeapi.sh: an
// HTTP server that answers every query at once with one rtjson route to
// -uri, as a routing service answering from memory would.
//
//	rtjsond -listen 127.0.0.1:8000 -uri sip:900@127.0.0.1:5091
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8000", "address to serve on")
	uri := flag.String("uri", "sip:900@127.0.0.1:5091", "the route's uri")
	flag.Parse()
	doc, err := json.Marshal(map[string]any{"version": "1.0", "routing": "serial", "routes": []map[string]string{{"uri": *uri}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtjsond:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtjsond:", err)
		os.Exit(1)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})}
	fmt.Println("rtjsond listening on", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "rtjsond:", err)
		os.Exit(1)
	}
}
