// Package consul is a small client for the read side of a Consul-compatible
// HTTP API, made for many concurrent blocking queries: against beacon it
// speaks HTTP/2 with prior knowledge (h2c), so every query of a process
// shares one TCP connection; against a server that only speaks HTTP/1.1
// (Consul itself) it falls back to a pool of HTTP/1.1 connections.
package consul

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Protocol choices for Config.Protocol.
const (
	ProtocolAuto  = "auto"  // try h2c, fall back to HTTP/1.1
	ProtocolH2C   = "h2c"   // HTTP/2 with prior knowledge only
	ProtocolHTTP1 = "http1" // HTTP/1.1 only (HTTP/2 through TLS ALPN when TLS is on)
)

// Config says where the API is and how to reach it.
type Config struct {
	// Address is host:port, or a URL with an http or https scheme.
	Address string
	Token   string
	// Username and Password, when Username is set, go in a basic
	// Authorization header.
	Username, Password string
	TLS                TLSConfig
	// Protocol is one of the Protocol constants; "" means auto.
	Protocol string
	// DialTimeout bounds connection setup; 0 means 10s.
	DialTimeout time.Duration
	// Transport, when set, carries every request instead of the network
	// (a fixture, a test double).
	Transport http.RoundTripper
}

// TLSConfig is the client side of HTTPS.
type TLSConfig struct {
	Enabled    bool
	Verify     bool
	CACert     string
	CAPath     string
	Cert, Key  string
	ServerName string
}

// QueryOptions shape one read.
type QueryOptions struct {
	Datacenter string
	// WaitIndex > 0 makes the read a blocking query that returns when the
	// result's index passes it or WaitTime elapses.
	WaitIndex uint64
	WaitTime  time.Duration
	// AllowStale lets any server answer (?stale).
	AllowStale bool
	Near       string
}

// Meta is what a response says about itself.
type Meta struct {
	LastIndex   uint64
	LastContact time.Duration
	KnownLeader bool
}

// StatusError is a response with an unexpected status code.
type StatusError struct {
	Code int
	Path string
	Body string
}

func (e *StatusError) Error() string {
	msg := strings.TrimSpace(e.Body)
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return fmt.Sprintf("GET %s: %d %s", e.Path, e.Code, msg)
}

// Client reads from one API address. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	log  func(format string, args ...any)

	mu       sync.Mutex
	rt       http.RoundTripper // the chosen transport; nil until decided
	protocol string            // what rt speaks, for status output
	probedAt time.Time         // the last auto-detection
	probeErr error             // and its failure, if it failed
	h2c      *h2cTransport
	http1    *http.Transport

	dials    atomic.Int64
	open     atomic.Int64
	requests atomic.Int64
}

// New checks the configuration and returns a client. No connection is made
// until the first request.
func New(cfg Config) (*Client, error) {
	base, err := parseAddress(cfg.Address, cfg.TLS.Enabled)
	if err != nil {
		return nil, err
	}
	switch cfg.Protocol {
	case "":
		cfg.Protocol = ProtocolAuto
	case ProtocolAuto, ProtocolH2C, ProtocolHTTP1:
	default:
		return nil, fmt.Errorf("consul protocol %q: want auto, h2c or http1", cfg.Protocol)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	c := &Client{cfg: cfg, base: base, log: func(string, ...any) {}}
	if cfg.Transport != nil {
		c.rt, c.protocol = cfg.Transport, "fixture"
		return c, nil
	}
	tlsCfg, err := cfg.TLS.build()
	if err != nil {
		return nil, err
	}
	c.http1 = c.newTransport(tlsCfg)
	if base.Scheme == "https" {
		// Over TLS, HTTP/2 comes from ALPN: no probing needed.
		c.rt, c.protocol = c.http1, "https"
		return c, nil
	}
	c.h2c = &h2cTransport{dial: c.countingDial(&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second})}
	switch cfg.Protocol {
	case ProtocolH2C:
		c.rt, c.protocol = c.h2c, ProtocolH2C
	case ProtocolHTTP1:
		c.rt, c.protocol = c.http1, ProtocolHTTP1
	}
	return c, nil
}

// SetLogger sets where the client says which protocol it chose.
func (c *Client) SetLogger(f func(format string, args ...any)) { c.log = f }

// Address is the base URL requests go to.
func (c *Client) Address() string { return c.base.String() }

// Protocol is the protocol in use: "h2c", "http1", "https", "fixture", or
// "" while auto-detection has not succeeded yet.
func (c *Client) Protocol() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.protocol
}

// Stats counts what the client did.
type Stats struct {
	Requests int64 // requests sent, protocol probes included
	Dialed   int64 // TCP connections opened
	Open     int64 // TCP connections open now
}

// Stats reports the client's counters.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Dialed: c.dials.Load(), Open: c.open.Load()}
}

// Close drops idle connections.
func (c *Client) Close() {
	if c.h2c != nil {
		c.h2c.CloseIdleConnections()
	}
	if c.http1 != nil {
		c.http1.CloseIdleConnections()
	}
}

func (c *Client) newTransport(tlsCfg *tls.Config) *http.Transport {
	dialer := &net.Dialer{Timeout: c.cfg.DialTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         c.countingDial(dialer),
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		// A blocking query per dependency: keep their connections for reuse.
		MaxIdleConnsPerHost: 4096,
		ForceAttemptHTTP2:   tlsCfg != nil,
	}
	return t
}

// countingDial wraps a dialer to count connections.
func (c *Client) countingDial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c.dials.Add(1)
		c.open.Add(1)
		return &countedConn{Conn: conn, open: &c.open}, nil
	}
}

type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

// Get reads path (with params) into out. A 404 is not an error: found is
// false and meta still carries the index, so a missing key can be watched
// until it appears.
func (c *Client) Get(ctx context.Context, path string, params url.Values, q QueryOptions, out any) (meta Meta, found bool, err error) {
	rt, req, err := c.prepare(ctx, path, params, q)
	if err != nil {
		return Meta{}, false, err
	}
	resp, err := rt.RoundTrip(req)
	return c.finish(rt, path, resp, err, out)
}

// prepare picks the transport and builds the request.
func (c *Client) prepare(ctx context.Context, path string, params url.Values, q QueryOptions) (http.RoundTripper, *http.Request, error) {
	rt, err := c.transport(ctx)
	if err != nil {
		return nil, nil, err
	}
	req, err := c.request(ctx, path, params, q)
	if err != nil {
		return nil, nil, err
	}
	c.requests.Add(1)
	return rt, req, nil
}

// finish reads a response into out.
func (c *Client) finish(rt http.RoundTripper, path string, resp *http.Response, err error, out any) (meta Meta, found bool, _ error) {
	if err != nil {
		// A request its caller gave up on (a view no longer needed, a
		// shutdown) says nothing about the server; only a failure does.
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			c.forget(rt)
		}
		return Meta{}, false, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	meta = parseMeta(resp.Header)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return meta, false, nil
	case resp.StatusCode/100 != 2:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return meta, false, &StatusError{Code: resp.StatusCode, Path: path, Body: string(body)}
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return meta, false, fmt.Errorf("GET %s: decoding the response: %w", path, err)
		}
	}
	return meta, true, nil
}

func (c *Client) request(ctx context.Context, path string, params url.Values, q QueryOptions) (*http.Request, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	v := url.Values{}
	for k, vs := range params {
		v[k] = vs
	}
	if q.Datacenter != "" {
		v.Set("dc", q.Datacenter)
	}
	if q.WaitIndex > 0 {
		v.Set("index", strconv.FormatUint(q.WaitIndex, 10))
		if q.WaitTime > 0 {
			v.Set("wait", strconv.FormatInt(q.WaitTime.Milliseconds(), 10)+"ms")
		}
	}
	if q.Near != "" {
		v.Set("near", q.Near)
	}
	if q.AllowStale {
		v.Set("stale", "")
	}
	u.RawQuery = encodeQuery(v)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if c.cfg.Token != "" {
		req.Header.Set("X-Consul-Token", c.cfg.Token)
	}
	if c.cfg.Username != "" {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	req.Header.Set("User-Agent", "beacon-template")
	return req, nil
}

// encodeQuery is url.Values.Encode, except that a parameter with an empty
// value is written as a bare flag ("?stale", "?passing"), as Consul's own
// clients do.
func encodeQuery(v url.Values) string {
	var b strings.Builder
	for _, k := range sortedKeys(v) {
		for _, val := range v[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			if val != "" {
				b.WriteByte('=')
				b.WriteString(url.QueryEscape(val))
			}
		}
	}
	return b.String()
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func parseMeta(h http.Header) Meta {
	var m Meta
	m.LastIndex, _ = strconv.ParseUint(h.Get("X-Consul-Index"), 10, 64)
	if ms, err := strconv.ParseUint(h.Get("X-Consul-Lastcontact"), 10, 64); err == nil {
		m.LastContact = time.Duration(ms) * time.Millisecond
	}
	m.KnownLeader = h.Get("X-Consul-Knownleader") == "true"
	return m
}

// parseAddress accepts "host:port", "host", or a URL.
func parseAddress(addr string, tlsOn bool) (*url.URL, error) {
	if addr == "" {
		addr = "127.0.0.1:8500"
	}
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	if !strings.Contains(addr, "://") {
		addr = scheme + "://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("consul address %q: %w", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("consul address %q: scheme %q is not http or https", addr, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("consul address %q: no host", addr)
	}
	if u.Port() == "" {
		port := "8500"
		if u.Scheme == "https" {
			port = "8501"
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func (t TLSConfig) build() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: !t.Verify, ServerName: t.ServerName}
	if t.CACert != "" || t.CAPath != "" {
		pool := x509.NewCertPool()
		files := []string{}
		if t.CACert != "" {
			files = append(files, t.CACert)
		}
		if t.CAPath != "" {
			matches, err := filepath.Glob(filepath.Join(t.CAPath, "*"))
			if err != nil {
				return nil, fmt.Errorf("consul ssl ca_path: %w", err)
			}
			files = append(files, matches...)
		}
		for _, f := range files {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("consul ssl ca cert: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) && f == t.CACert {
				return nil, fmt.Errorf("consul ssl ca cert %s: no PEM certificates in it", f)
			}
		}
		cfg.RootCAs = pool
	}
	if t.Cert != "" || t.Key != "" {
		key := t.Key
		if key == "" {
			key = t.Cert
		}
		pair, err := tls.LoadX509KeyPair(t.Cert, key)
		if err != nil {
			return nil, fmt.Errorf("consul ssl cert/key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// errUndecided is returned while auto-detection cannot reach the server.
var errUndecided = errors.New("the server answers neither HTTP/2 (h2c) nor HTTP/1.1")
