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
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/agent"
	"github.com/beacon-sd/beacon/core/connect"
	"github.com/beacon-sd/beacon/core/decode"
	"github.com/beacon-sd/beacon/core/event"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/telemetry"
	"github.com/beacon-sd/beacon/core/ui"
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
	// Keyring lists ("list") or changes ("install", "use", "remove") the
	// gossip keyring; it returns the keys and the number of members.
	Keyring func(op, key string) (structs.KeyringResult, error)
	// Join, Leave and ForceLeave act on the gossip pool.
	Join       func(addrs []string) (int, error)
	Leave      func() error
	ForceLeave func(node string, prune bool) error
	// Events fires user events and keeps those this agent accepted.
	Events *event.Events
	// MaxKVSize caps KV values (default 512 KiB).
	MaxKVSize int
	// MaxTxnLen caps a transaction's body (limits.txn_max_req_len,
	// default 512 KiB); MaxKVSize when that is larger.
	MaxTxnLen int
	// DataDir holds uploaded snapshots while they are restored; the
	// system's temporary directory when empty (dev mode).
	DataDir string
	// EnableDebug serves Go's profiler under /debug/pprof/ (enable_debug);
	// with ACLs enabled it is served to operator:read tokens either way.
	EnableDebug bool
	// UI serves the web UI under /ui/ when set.
	UI http.Handler
	// ACL resolves request tokens for the agent's own endpoints; nil when
	// ACLs are off.
	ACL     *acl.Resolver
	Metrics *telemetry.Metrics
	Logger  hclog.Logger
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
	// recovery is what the agent_recovery token may do on this agent.
	recovery *acl.Authorizer
	// restoring is held while a snapshot restore runs.
	restoring sync.Mutex
	// leaves keeps the services' Connect leaf certificates.
	leaves *connect.Leaves
}

type handlerFunc func(w *httpserver.Response, r *request) (interface{}, error)

// request is an API request with its query string parsed once and its
// ACL token found.
type request struct {
	*httpserver.Request
	query url.Values
	token string
}

type route struct {
	path    string
	methods []string
	h       handlerFunc
	ok      map[string]prometheus.Counter
	latency map[string]prometheus.Observer
}

// New builds the API handler.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.MaxKVSize <= 0 {
		cfg.MaxKVSize = structs.MaxKVValueSize
	}
	if cfg.MaxTxnLen <= 0 {
		cfg.MaxTxnLen = structs.DefaultTxnMaxReqLen
	}
	if cfg.Metrics == nil {
		cfg.Metrics = telemetry.New()
	}
	if cfg.Events == nil {
		cfg.Events = event.New(event.Config{Node: cfg.Agent.Node().Node, Logger: cfg.Logger})
	}
	s := &Server{
		cfg:     cfg,
		agent:   cfg.Agent,
		backend: cfg.Agent.Backend(),
		logger:  cfg.Logger.Named("http"),
		metrics: cfg.Metrics,
		exact:   map[string]*route{},
	}
	s.recovery = recoveryAuthorizer(cfg.Agent.Node().Node)
	s.leaves = &connect.Leaves{Roots: s.backend.ConnectCARoots, Sign: s.backend.ConnectCASign, Datacenter: cfg.Datacenter}
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
	s.instrument(r)
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

// Serve routes a request and writes the handler's result.
func (s *Server) Serve(w *httpserver.Response, hr *httpserver.Request) {
	start := time.Now()
	if hr.Path == "/" || hr.Path == "/ui" || strings.HasPrefix(hr.Path, "/ui/") {
		s.serveUI(w, hr)
		return
	}
	r := &request{Request: hr, query: hr.Query()}
	r.token = s.requestToken(r)
	rt := s.lookup(r.Path)
	code := http.StatusOK
	defer func() {
		if rec := recover(); rec != nil {
			s.logger.Error("handler panic", "path", logPath(r.Path), "panic", rec)
			w.Error("internal error", http.StatusInternalServerError)
			code = http.StatusInternalServerError
		}
		s.count(rt, r.Method, code)
		if s.logger.IsDebug() {
			from := ""
			if r.RemoteAddr != nil {
				from = r.RemoteAddr.String()
			}
			s.logger.Debug("request finished", "method", r.Method, "url", logPath(r.Path),
				"from", from, "latency", time.Since(start).String())
		}
	}()
	if rt == nil {
		code = http.StatusNotFound
		w.Error(fmt.Sprintf("Invalid URL path: %q is not a beacon API endpoint", r.Path), code)
		return
	}
	if !allowed(rt.methods, r.Method) {
		code = http.StatusMethodNotAllowed
		w.SetHeader("Allow", strings.Join(rt.methods, ", "))
		w.Error(fmt.Sprintf("method %s not allowed on %s", r.Method, rt.path), code)
		return
	}
	if r.Method == http.MethodOptions {
		w.SetHeader("Allow", strings.Join(rt.methods, ", "))
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
	code = w.Status()
	if _, blocking := r.query["index"]; !blocking {
		if o := rt.latency[r.Method]; o != nil {
			o.Observe(time.Since(start).Seconds())
		}
	}
}

// serveUI serves the web UI, or says how to turn it on.
func (s *Server) serveUI(w *httpserver.Response, r *httpserver.Request) {
	if s.cfg.UI == nil {
		w.Error("beacon agent: the UI is disabled; start the agent with -ui (or \"ui\": true) to enable it", http.StatusNotFound)
		return
	}
	if r.Path == "/" || r.Path == "/ui" {
		w.SetHeader("Location", "/ui/")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	tok := extractToken(r.Header.Get, r.Query())
	if tok == "" {
		tok = cookie(r.Header.Get("Cookie"), ui.TokenCookie)
	}
	if tok == "" {
		tok = s.agent.Tokens().UserToken()
	}
	hdr := make(httpserver.Header, 0, len(r.Header)+1)
	for _, f := range r.Header {
		if !strings.EqualFold(f.Name, ui.TokenHeader) {
			hdr = append(hdr, f)
		}
	}
	r.Header = append(hdr, httpserver.Field{Name: ui.TokenHeader, Value: tok})
	httpserver.Std(s.cfg.UI, w, r)
}

// instrument resolves a route's metric series once, so a request costs no
// label lookups.
func (s *Server) instrument(rt *route) {
	rt.ok = map[string]prometheus.Counter{}
	rt.latency = map[string]prometheus.Observer{}
	for _, m := range rt.methods {
		rt.ok[m] = s.metrics.HTTPRequests.WithLabelValues(m, rt.path, "200")
		rt.latency[m] = s.metrics.HTTPDuration.WithLabelValues(m, rt.path)
	}
}

func (s *Server) count(rt *route, method string, code int) {
	if rt != nil && code == http.StatusOK {
		if c := rt.ok[method]; c != nil {
			c.Inc()
			return
		}
	}
	endpoint := "unknown"
	if rt != nil {
		endpoint = rt.path
	}
	s.metrics.HTTPRequests.WithLabelValues(methodLabel(method), endpoint, strconv.Itoa(code)).Inc()
}

// methodLabel keeps the method label to a fixed set, so clients cannot
// grow the metric series by inventing methods.
func methodLabel(m string) string {
	switch m {
	case get, put, pst, del, http.MethodHead, http.MethodOptions, http.MethodPatch:
		return m
	}
	return "other"
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

// writeJSON encodes a response body, indented with ?pretty. Encoders that
// can append in place write straight into the response buffer.
func (s *Server) writeJSON(w *httpserver.Response, r *request, obj interface{}) {
	_, pretty := r.query["pretty"]
	w.SetHeader("Content-Type", "application/json")
	if ap, ok := obj.(appender); ok && !pretty {
		w.SetBody(ap.appendJSON(w.Body()[:0]))
		return
	}
	if v, ok := obj.(bool); ok {
		// Every KV write answers true or false.
		w.SetBody(strconv.AppendBool(w.Body()[:0], v))
		return
	}
	var b []byte
	var err error
	if pretty {
		b, err = json.MarshalIndent(obj, "", "    ")
		b = append(b, '\n') // as Consul ends pretty output
	} else {
		b, err = json.Marshal(obj)
	}
	if err != nil {
		s.logger.Error("encode response failed", "path", logPath(r.Path), "error", err)
		w.Error("failed to encode response", http.StatusInternalServerError)
		return
	}
	w.Write(b)
}

// codedError is an error with the status code it deserves.
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }

// errEmptyNotFound is a 404 with an empty body, as Consul answers a read
// of something that does not exist.
var errEmptyNotFound = &codedError{code: http.StatusNotFound}

func badRequest(format string, args ...interface{}) error {
	return &codedError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...interface{}) error {
	return &codedError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// writeError maps an error to Consul's status code and plain-text body.
func (s *Server) writeError(w *httpserver.Response, r *request, err error) int {
	code := http.StatusInternalServerError
	msg := err.Error()
	var ce *codedError
	switch {
	case structs.OutcomeUnknown(err):
		// 500, whatever else it says: the write may have been applied.
	case errors.As(err, &ce):
		code = ce.code
	case errors.Is(err, structs.ErrPermissionDenied), errors.Is(err, structs.ErrACLNotFound):
		code = http.StatusForbidden
	case errors.Is(err, structs.ErrACLBootstrapDisabled):
		code = http.StatusForbidden
		msg = structs.ErrPermissionDenied.Error() + ": " + msg
	case errors.Is(err, structs.ErrACLDisabled):
		code = http.StatusUnauthorized
	case errors.Is(err, structs.ErrTxnUnsupported):
		code = http.StatusServiceUnavailable
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
		s.logger.Error("request failed", "method", r.Method, "path", logPath(r.Path), "error", err)
	}
	if msg == "" {
		w.WriteHeader(code)
		return code
	}
	w.Error(msg, code)
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
func decodeBody(r *request, out interface{}) error {
	if len(r.Body) > maxJSONBody {
		return &codedError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Request body (%d bytes) too large, max size: %d bytes", len(r.Body), maxJSONBody)}
	}
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return nil
	}
	if err := decode.JSON(r.Body, out, false); err != nil {
		return badRequest("Request decode failed: %v", err)
	}
	return nil
}

// maxJSONBody bounds JSON request bodies other than KV values.
const maxJSONBody = 4 << 20

// MaxBody is the largest request body the API accepts for a KV limit
// and a transaction limit (0: the default).
func MaxBody(kvLimit, txnLimit int) int { return max(kvLimit, txnLimit, maxJSONBody) + 1 }

// parseQuery reads the options every read endpoint takes. ?filter is
// refused: the endpoints that take it use parseFilteredQuery.
func parseQuery(r *request, dc *string, q *structs.QueryOptions) error {
	if _, ok := r.query["filter"]; ok {
		return badRequest("the ?filter parameter is not supported by this endpoint: only the catalog, health and agent lists take it")
	}
	return parseOptions(r, dc, q)
}

// parseFilteredQuery is parseQuery for the lists that take ?filter=: the
// server that answers checks the expression and applies it (core/filter).
func parseFilteredQuery(r *request, dc *string, q *structs.QueryOptions) error {
	q.Filter = r.query.Get("filter")
	return parseOptions(r, dc, q)
}

func parseOptions(r *request, dc *string, q *structs.QueryOptions) error {
	v := r.query
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
	q.Token = r.token
	if q.MinIndex > 0 {
		r.WatchClient() // a parked query ends when its client leaves
	}
	return nil
}

// token is the request's ACL token.
func token(r *request) string { return r.token }

// nodeMeta parses repeated ?node-meta=key:value filters.
func nodeMeta(r *request) (map[string]string, error) {
	vals := r.query["node-meta"]
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
func setMeta(w *httpserver.Response, m *structs.QueryMeta) {
	w.SetHeader("X-Consul-Index", strconv.FormatUint(m.Index, 10))
	if m.KnownLeader {
		w.SetHeader("X-Consul-Knownleader", "true")
	} else {
		w.SetHeader("X-Consul-Knownleader", "false")
	}
	if m.ResultsFilteredByACLs {
		w.SetHeader("X-Consul-Results-Filtered-By-ACLs", "true")
	}
	if m.LastContact == 0 {
		w.SetHeader("X-Consul-Lastcontact", "0")
	} else {
		w.SetHeader("X-Consul-Lastcontact", strconv.FormatInt(m.LastContact.Milliseconds(), 10))
	}
}

// read runs one backend read, blocking when the request carried an index,
// and writes the reply's query headers.
func read[A interface{ Options() *structs.QueryOptions }, R interface{ Meta() *structs.QueryMeta }](
	s *Server, w *httpserver.Response, r *request, args A, reply R, call func(context.Context, A, R) error) error {
	if args.Options().MinIndex > 0 {
		s.metrics.BlockingActive.Inc()
		defer s.metrics.BlockingActive.Dec()
	}
	if err := call(r.Context(), args, reply); err != nil {
		return err
	}
	setMeta(w, reply.Meta())
	return nil
}

// tail returns the path after a route prefix.
func tail(r *request, prefix string) string { return strings.TrimPrefix(r.Path, prefix) }

// boolParam reads a query flag that may be given bare (?recurse) or with a
// value (?recurse=true).
func boolParam(r *request, name string) bool {
	v, ok := r.query[name]
	if !ok {
		return false
	}
	if len(v) == 0 || v[0] == "" {
		return true
	}
	b, err := strconv.ParseBool(v[0])
	return err != nil || b
}
