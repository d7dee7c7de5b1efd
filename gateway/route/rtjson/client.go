package rtjson

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Query is what the gateway POSTs about a request.
type Query struct {
	Version   string `json:"version"` // "1.0"
	Method    string `json:"method"`
	RURI      string `json:"ruri"`
	From      Party  `json:"from"`
	To        Party  `json:"to"`
	CallID    string `json:"call_id"`
	Source    string `json:"source"`    // ip:port the request came from
	Transport string `json:"transport"` // udp, tcp, tls, ws, wss
	// AuthUser is the digest-authenticated user ("" for a trusted source).
	AuthUser string `json:"auth_user,omitempty"`
	// Headers holds the selected headers (routes[].api.headers), by name
	// as configured.
	Headers map[string][]string `json:"headers,omitempty"`
}

// Party is From or To as received.
type Party struct {
	Display string `json:"display,omitempty"`
	URI     string `json:"uri"`
	Tag     string `json:"tag,omitempty"`
}

// Client asks routing services over HTTP with keep-alive connections.
// One Client serves every route and call; Close drops its idle
// connections.
type Client struct {
	http *http.Client
}

// NewClient returns a client whose connections are kept alive between
// queries (up to maxIdle per service).
func NewClient(maxIdle int) *Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxIdle,
		MaxIdleConnsPerHost: maxIdle,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &Client{http: &http.Client{Transport: tr}}
}

// Ask POSTs q to url and parses the answer, giving up when ctx ends
// (the route's timeout). A non-200 status, a body over MaxBody or a bad
// document is an error: the caller falls back.
func (c *Client) Ask(ctx context.Context, url string, q Query) (*Decision, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrService, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrService, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrService, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, MaxBody))
		return nil, fmt.Errorf("%w: HTTP %d", ErrService, res.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer: %w", ErrService, err)
	}
	return Parse(b)
}

// Close drops the idle keep-alive connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}
