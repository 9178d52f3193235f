package http

import (
	"encoding/json"
	"time"

	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// sessionBody is the body of /v1/session/create. LockDelay may be "15s", a
// number of seconds (below 1000) or of nanoseconds, as Consul accepts.
type sessionBody struct {
	Name          string
	Node          string
	Checks        []string
	NodeChecks    []string
	ServiceChecks []structs.ServiceCheck
	LockDelay     json.RawMessage
	Behavior      string
	TTL           string
}

func (s *Server) sessionCreate(w *httpserver.Response, r *request) (interface{}, error) {
	var body sessionBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	sess := structs.Session{
		Name: body.Name, Node: body.Node, Behavior: body.Behavior, TTL: body.TTL,
		NodeChecks: body.NodeChecks, ServiceChecks: body.ServiceChecks,
		LockDelay: structs.DefaultLockDelay,
	}
	if sess.Node == "" {
		sess.Node = s.agent.Node().Node
	}
	if len(body.Checks) > 0 && body.NodeChecks == nil {
		sess.NodeChecks = body.Checks
	}
	if body.Checks == nil && body.NodeChecks == nil && body.ServiceChecks == nil {
		sess.NodeChecks = []string{structs.SerfCheckID}
	}
	if len(body.LockDelay) > 0 && string(body.LockDelay) != "null" {
		d, err := parseLockDelay(body.LockDelay)
		if err != nil {
			return nil, err
		}
		sess.LockDelay = d
	}
	args := structs.SessionRequest{Datacenter: r.query.Get("dc"), Op: structs.SessionCreate, Session: sess}
	args.Token = token(r)
	id, err := s.backend.SessionApply(r.Context(), &args)
	if err != nil {
		return nil, err
	}
	return struct{ ID string }{id}, nil
}

func parseLockDelay(raw json.RawMessage) (time.Duration, error) {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		d, err := time.ParseDuration(str)
		if err != nil {
			return 0, badRequest("Invalid LockDelay %q", str)
		}
		return d, nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, badRequest("Invalid LockDelay %s", raw)
	}
	if n < 1000 {
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.Duration(n), nil
}

func (s *Server) sessionDestroy(w *httpserver.Response, r *request) (interface{}, error) {
	args := structs.SessionRequest{Datacenter: r.query.Get("dc"), Op: structs.SessionDestroy,
		Session: structs.Session{ID: tail(r, "/v1/session/destroy/")}}
	args.Token = token(r)
	if _, err := s.backend.SessionApply(r.Context(), &args); err != nil {
		return nil, err
	}
	return true, nil
}

func (s *Server) sessionInfo(w *httpserver.Response, r *request) (interface{}, error) {
	args := structs.SessionSpecificRequest{SessionID: tail(r, "/v1/session/info/")}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedSessions
	if err := read(s, w, r, &args, &out, s.backend.SessionGet); err != nil {
		return nil, err
	}
	return out.Sessions, nil
}

func (s *Server) sessionList(w *httpserver.Response, r *request) (interface{}, error) {
	var args structs.DCSpecificRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedSessions
	if err := read(s, w, r, &args, &out, s.backend.SessionList); err != nil {
		return nil, err
	}
	return out.Sessions, nil
}

func (s *Server) sessionNode(w *httpserver.Response, r *request) (interface{}, error) {
	args := structs.NodeSpecificRequest{Node: tail(r, "/v1/session/node/")}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedSessions
	if err := read(s, w, r, &args, &out, s.backend.SessionNodeSessions); err != nil {
		return nil, err
	}
	return out.Sessions, nil
}

func (s *Server) sessionRenew(w *httpserver.Response, r *request) (interface{}, error) {
	args := structs.SessionSpecificRequest{SessionID: tail(r, "/v1/session/renew/")}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedSessions
	if err := read(s, w, r, &args, &out, s.backend.SessionRenew); err != nil {
		return nil, err
	}
	if len(out.Sessions) == 0 {
		return nil, notFound("Session id '%s' not found", args.SessionID)
	}
	return out.Sessions, nil
}

func (s *Server) statusLeader(w *httpserver.Response, r *request) (interface{}, error) {
	return s.backend.StatusLeader(r.Context())
}

func (s *Server) statusPeers(w *httpserver.Response, r *request) (interface{}, error) {
	return s.backend.StatusPeers(r.Context())
}
