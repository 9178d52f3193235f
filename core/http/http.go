// Package http serves Consul's /v1 HTTP API on top of the local agent and
// its backend: routing, query options (blocking, consistency, tokens),
// Consul's response headers and error bodies, and JSON shapes that the
// official API client decodes.
package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/agent"
	"github.com/beacon-sd/beacon/core/decode"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/telemetry"
)

// Config wires the HTTP API to the rest of the agent.
type Config struct {
	Agent      *agent.Agent
	Datacenter string
	// Members lists the gossip pool (LAN, or WAN when wan is set).
	Members func(wan bool) []api.AgentMember
	// Self describes the agent for /v1/agent/self.
	Self func() map[string]interface{}
	// Reload re-reads config files (PUT /v1/agent/reload).
	Reload func() error
	// MaxKVSize caps KV values (default 512 KiB).
	MaxKVSize int
	Metrics   *telemetry.Metrics
	Logger    hclog.Logger
}

// Server is the HTTP API handler.
type Server struct {
	cfg     Config
	agent   *agent.Agent
	backend agent.Backend
	logger  hclog.Logger
	metrics *telemetry.Metrics
	exact   map[string]*route
	prefix  []*route
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) (interface{}, error)

type route struct {
	path    string
	methods []string
	h       handlerFunc
}

// New builds the API handler.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.MaxKVSize <= 0 {
		cfg.MaxKVSize = structs.MaxKVValueSize
	}
	if cfg.Metrics == nil {
		cfg.Metrics = telemetry.New()
	}
	s := &Server{
		cfg:     cfg,
		agent:   cfg.Agent,
		backend: cfg.Agent.Backend(),
		logger:  cfg.Logger.Named("http"),
		metrics: cfg.Metrics,
		exact:   map[string]*route{},
	}
	s.routes()
	sort.Slice(s.prefix, func(i, j int) bool { return len(s.prefix[i].path) > len(s.prefix[j].path) })
	return s
}

const (
	get = http.MethodGet
	put = http.MethodPut
	del = http.MethodDelete
	pst = http.MethodPost
)

// handle registers a handler; a path ending in "/" matches as a prefix.
func (s *Server) handle(path string, h handlerFunc, methods ...string) {
	r := &route{path: path, methods: methods, h: h}
	if strings.HasSuffix(path, "/") {
		s.prefix = append(s.prefix, r)
		return
	}
	s.exact[path] = r
}

func (s *Server) lookup(path string) *route {
	if r, ok := s.exact[path]; ok {
		return r
	}
	for _, r := range s.prefix {
		if strings.HasPrefix(path, r.path) {
			return r
		}
	}
	return nil
}

// ServeHTTP routes a request and writes the handler's result.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt := s.lookup(r.URL.Path)
	endpoint := "unknown"
	code := http.StatusOK
	defer func() {
		if rec := recover(); rec != nil {
			s.logger.Error("handler panic", "path", r.URL.Path, "panic", rec)
			http.Error(w, "internal error", http.StatusInternalServerError)
			code = http.StatusInternalServerError
		}
		s.metrics.HTTPRequests.WithLabelValues(r.Method, endpoint, strconv.Itoa(code)).Inc()
	}()
	if rt == nil {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
			return
		}
		code = http.StatusNotFound
		http.Error(w, fmt.Sprintf("Invalid URL path: %q is not a beacon API endpoint", r.URL.Path), code)
		return
	}
	endpoint = rt.path
	if !allowed(rt.methods, r.Method) {
		code = http.StatusMethodNotAllowed
		w.Header().Set("Allow", strings.Join(rt.methods, ", "))
		http.Error(w, fmt.Sprintf("method %s not allowed on %s", r.Method, rt.path), code)
		return
	}
	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", strings.Join(rt.methods, ", "))
		return
	}
	obj, err := rt.h(w, r)
	if err != nil {
		code = s.writeError(w, r, err)
		return
	}
	if obj != nil {
		s.writeJSON(w, r, obj)
	}
	if r.URL.Query().Get("index") == "" {
		s.metrics.HTTPDuration.WithLabelValues(r.Method, endpoint).Observe(time.Since(start).Seconds())
	}
}

func allowed(methods []string, m string) bool {
	if m == http.MethodOptions {
		return true
	}
	for _, x := range methods {
		if x == m || (x == get && m == http.MethodHead) {
			return true
		}
	}
	return false
}

var bufPool = sync.Pool{New: func() interface{} { return new(bytes.Buffer) }}

// writeJSON encodes a response body, indented with ?pretty.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, obj interface{}) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if _, ok := r.URL.Query()["pretty"]; ok {
		enc.SetIndent("", "    ")
	}
	if err := enc.Encode(obj); err != nil {
		s.logger.Error("encode response failed", "path", r.URL.Path, "error", err)
		http.Error(w, "failed to encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// codedError is an error with the status code it deserves.
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }

func badRequest(format string, args ...interface{}) error {
	return &codedError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...interface{}) error {
	return &codedError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// writeError maps an error to Consul's status code and plain-text body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	code := http.StatusInternalServerError
	msg := err.Error()
	var ce *codedError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ce):
		code = ce.code
	case errors.As(err, &mbe):
		code = http.StatusRequestEntityTooLarge
		msg = fmt.Sprintf("Request body too large, max size: %d bytes", mbe.Limit)
	case errors.Is(err, structs.ErrPermissionDenied):
		code = http.StatusForbidden
	case errors.Is(err, structs.ErrServiceNotFound), errors.Is(err, structs.ErrCheckNotFound):
		code = http.StatusNotFound
	case errors.Is(err, structs.ErrMissingNode), errors.Is(err, structs.ErrMissingService),
		errors.Is(err, structs.ErrInvalidSession), errors.Is(err, structs.ErrMissingSessionID),
		errors.Is(err, agent.ErrScriptsDisabled), isValidation(err):
		code = http.StatusBadRequest
	case errors.Is(err, context.Canceled):
		code = 499 // the client went away
	}
	if code >= 500 && code != 499 {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	http.Error(w, msg, code)
	return code
}

// validation errors are the ones the server returns for bad input.
type validationError interface{ Validation() bool }

func isValidation(err error) bool {
	var v validationError
	return errors.As(err, &v)
}

// decodeBody reads a JSON request body into out, leniently (unknown keys
// ignored) as Consul does. An empty body leaves out untouched.
func decodeBody(r *http.Request, out interface{}, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := decode.JSON(body, out, false); err != nil {
		return badRequest("Request decode failed: %v", err)
	}
	return nil
}

// maxJSONBody bounds JSON request bodies other than KV values.
const maxJSONBody = 4 << 20

// parseQuery reads the options every read endpoint takes.
func parseQuery(r *http.Request, dc *string, q *structs.QueryOptions) error {
	v := r.URL.Query()
	*dc = v.Get("dc")
	if s := v.Get("index"); s != "" {
		idx, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return badRequest("Invalid index: %q is not a non-negative integer", s)
		}
		q.MinIndex = idx
	}
	if s := v.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return badRequest("Invalid wait time: %q", s)
		}
		q.MaxWait = d
	}
	_, q.AllowStale = v["stale"]
	_, q.RequireConsistent = v["consistent"]
	if q.AllowStale && q.RequireConsistent {
		return badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
	}
	if s := v.Get("max_stale"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return badRequest("Invalid max_stale: %q", s)
		}
		q.MaxStaleDuration = d
		q.AllowStale = true
	}
	if _, ok := v["filter"]; ok {
		return badRequest("the ?filter parameter is not supported; filter on the client or use ?tag / ?node-meta")
	}
	q.Token = token(r)
	return nil
}

// token finds the request's ACL token: X-Consul-Token, a bearer
// Authorization header, or ?token.
func token(r *http.Request) string {
	if t := r.Header.Get("X-Consul-Token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); strings.HasPrefix(strings.ToLower(a), "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return r.URL.Query().Get("token")
}

// nodeMeta parses repeated ?node-meta=key:value filters.
func nodeMeta(r *http.Request) (map[string]string, error) {
	vals := r.URL.Query()["node-meta"]
	if len(vals) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(vals))
	for _, v := range vals {
		k, val, ok := strings.Cut(v, ":")
		if !ok || k == "" {
			return nil, badRequest("Invalid node-meta filter %q: want key:value", v)
		}
		out[k] = val
	}
	return out, nil
}

// setMeta writes the headers every read answers with.
func setMeta(w http.ResponseWriter, m *structs.QueryMeta) {
	h := w.Header()
	h.Set("X-Consul-Index", strconv.FormatUint(m.Index, 10))
	if m.KnownLeader {
		h.Set("X-Consul-KnownLeader", "true")
	} else {
		h.Set("X-Consul-KnownLeader", "false")
	}
	h.Set("X-Consul-LastContact", strconv.FormatInt(m.LastContact.Milliseconds(), 10))
	h.Set("X-Consul-Effective-Consistency", "leader")
}

// blocking marks a request as a parked blocking query for the gauge.
func (s *Server) blocking(q *structs.QueryOptions) func() {
	if q.MinIndex == 0 {
		return func() {}
	}
	s.metrics.BlockingActive.Inc()
	return s.metrics.BlockingActive.Dec
}

// tail returns the path after a route prefix.
func tail(r *http.Request, prefix string) string { return strings.TrimPrefix(r.URL.Path, prefix) }

// boolParam reads a query flag that may be given bare (?recurse) or with a
// value (?recurse=true).
func boolParam(r *http.Request, name string) bool {
	v, ok := r.URL.Query()[name]
	if !ok {
		return false
	}
	if len(v) == 0 || v[0] == "" {
		return true
	}
	b, err := strconv.ParseBool(v[0])
	return err != nil || b
}

// clientIP is the remote address without the port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
