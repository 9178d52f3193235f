package http

import (
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/httpserver"
)

// debugPrefix is where Go's profiler is served.
const debugPrefix = "/debug/pprof/"

// pprof serves Go's profiler: the command line, goroutine stacks, heap
// and CPU profiles. It is there with enable_debug, and whenever ACLs are
// enabled; with ACLs it needs operator:read, whatever enable_debug says.
func (s *Server) pprof(w *httpserver.Response, r *request) (interface{}, error) {
	aclOn := s.cfg.ACL.Enabled()
	if !s.cfg.EnableDebug && !aclOn {
		return nil, notFound("%s is served only with enable_debug, or with ACLs enabled to operator:read tokens", debugPrefix)
	}
	if aclOn {
		if _, err := s.require(r, acl.Operator, "", acl.Read); err != nil {
			return nil, err
		}
	}
	httpserver.Std(http.HandlerFunc(servePprof), w, r.Request)
	return nil, nil
}

// servePprof picks the profiler's handler by name.
func servePprof(w http.ResponseWriter, r *http.Request) {
	switch name := strings.TrimPrefix(r.URL.Path, debugPrefix); name {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	case "":
		pprof.Index(w, r)
	default:
		pprof.Handler(name).ServeHTTP(w, r)
	}
}
