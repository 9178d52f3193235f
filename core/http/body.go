package http

import (
	"strconv"
	"strings"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/httpserver"
)

// Admit sees a request whose body is larger than httpserver.SmallBody
// before any of the body is read. A write whose token cannot do it is
// answered here, and its body never read: the token must resolve and hold
// the permission the route needs (key:write on the key, event:write on
// the event, acl:write for a snapshot restore) or, where that depends on the body, write permission
// on something. A snapshot restore is streamed to its handler, up to
// MaxSnapshot, instead of held in memory.
func (s *Server) Admit(w *httpserver.Response, hr *httpserver.Request) httpserver.BodyPlan {
	if hr.Method != put && hr.Method != pst || !strings.HasPrefix(hr.Path, "/v1/") {
		return httpserver.BodyPlan{} // GET and DELETE take no body: read within the default bound
	}
	rt := s.lookup(hr.Path)
	if rt == nil || !allowed(rt.methods, hr.Method) {
		return httpserver.BodyPlan{} // answered by Serve, within the default bound
	}
	r := &request{Request: hr, query: hr.Query()}
	r.token = s.requestToken(r)
	if err := s.mayWrite(rt, r); err != nil {
		s.count(rt, r.Method, s.writeError(w, r, err))
		return httpserver.BodyPlan{Answered: true}
	}
	switch rt.path {
	case "/v1/snapshot":
		return httpserver.BodyPlan{Stream: true, Limit: MaxSnapshot}
	case "/v1/txn":
		n, err := strconv.Atoi(hr.Header.Get("Content-Length"))
		if err == nil && n > s.maxTxnLen() {
			s.count(rt, r.Method, s.writeError(w, r, txnTooLarge(n, s.maxTxnLen())))
			return httpserver.BodyPlan{Answered: true}
		}
		return httpserver.BodyPlan{Limit: int64(s.maxTxnLen())}
	}
	return httpserver.BodyPlan{}
}

// mayWrite checks, from the head of a write, the permission it needs.
func (s *Server) mayWrite(rt *route, r *request) error {
	authz, err := s.authorize(r)
	if err != nil || authz == nil {
		return err // nil: ACLs are off
	}
	switch rt.path {
	case "/v1/kv/":
		return authz.Check(acl.Key, tail(r, rt.path), acl.Write)
	case "/v1/snapshot":
		return authz.Check(acl.ACL, "", acl.Write)
	case "/v1/txn":
		// A transaction may only read; its operations are checked one by
		// one once decoded.
		return nil
	case "/v1/event/fire/":
		return authz.Check(acl.Event, tail(r, rt.path), acl.Write)
	case "/v1/acl/login", "/v1/acl/templated-policy/":
		return nil // a login's credential is in its body; a preview writes nothing
	}
	return authz.CheckMayWrite()
}
