package http

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/beacon-sd/beacon/core/decode"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// query serves /v1/query: GET lists the prepared queries, POST creates one.
func (s *Server) query(w *httpserver.Response, r *request) (interface{}, error) {
	if r.Method == pst {
		return s.queryCreate(w, r)
	}
	var args structs.DCSpecificRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedPreparedQueries
	if err := read(s, w, r, &args, &out, s.backend.PreparedQueryList); err != nil {
		return nil, err
	}
	if out.Queries == nil {
		out.Queries = []*structs.PreparedQuery{}
	}
	return out.Queries, nil
}

func (s *Server) queryCreate(w *httpserver.Response, r *request) (interface{}, error) {
	var q structs.PreparedQuery
	if err := decodeDefinition(r, &q); err != nil {
		return nil, err
	}
	args := structs.PreparedQueryRequest{Datacenter: r.query.Get("dc"), Op: structs.PreparedQueryCreate, Query: &q}
	args.Token = token(r)
	id, err := s.backend.PreparedQueryApply(r.Context(), &args)
	if err != nil {
		return nil, queryError(err)
	}
	return struct{ ID string }{id}, nil
}

// decodeDefinition reads a query definition as decodeBody reads any body,
// and refuses a key that is no field of a definition, naming it.
func decodeDefinition(r *request, q *structs.PreparedQuery) error {
	if err := decodeBody(r, q); err != nil {
		return err
	}
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return nil
	}
	if err := decode.JSON(r.Body, new(structs.PreparedQuery), true); err != nil {
		return badRequest("Request decode failed: %v", err)
	}
	return nil
}

// querySpecific serves /v1/query/<id> (GET, PUT, DELETE) and
// /v1/query/<id or name>/execute and /explain (GET).
func (s *Server) querySpecific(w *httpserver.Response, r *request) (interface{}, error) {
	id := tail(r, "/v1/query/")
	for _, sub := range []string{"/execute", "/explain"} {
		name, ok := strings.CutSuffix(id, sub)
		if !ok {
			continue
		}
		if r.Method != get && r.Method != http.MethodHead {
			w.SetHeader("Allow", get)
			return nil, &codedError{http.StatusMethodNotAllowed, "method " + r.Method + " not allowed on /v1/query/<id>" + sub}
		}
		if name == "" {
			return nil, badRequest("Missing prepared query ID or name")
		}
		if sub == "/execute" {
			return s.queryExecute(w, r, name)
		}
		return s.queryExplain(w, r, name)
	}
	if id == "" {
		return nil, badRequest("Missing prepared query ID")
	}
	switch r.Method {
	case put:
		return s.queryWrite(r, id, structs.PreparedQueryUpdate)
	case del:
		return s.queryWrite(r, id, structs.PreparedQueryDelete)
	}
	args := structs.PreparedQuerySpecificRequest{QueryID: id}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedPreparedQueries
	if err := read(s, w, r, &args, &out, s.backend.PreparedQueryGet); err != nil {
		return nil, queryError(err)
	}
	return out.Queries, nil
}

// queryWrite updates (with the body's definition) or deletes query id.
func (s *Server) queryWrite(r *request, id string, op structs.PreparedQueryOp) (interface{}, error) {
	q := structs.PreparedQuery{}
	if op == structs.PreparedQueryUpdate {
		if err := decodeDefinition(r, &q); err != nil {
			return nil, err
		}
		if q.ID != "" && q.ID != id {
			return nil, badRequest("The body's ID %q is not the query %q the URL names", q.ID, id)
		}
	}
	q.ID = id
	args := structs.PreparedQueryRequest{Datacenter: r.query.Get("dc"), Op: op, Query: &q}
	args.Token = token(r)
	if _, err := s.backend.PreparedQueryApply(r.Context(), &args); err != nil {
		return nil, queryError(err)
	}
	return nil, nil
}

// executeArgs reads what execute and explain take: the query options,
// ?limit, and ?near with the caller's address for near=_ip.
func (s *Server) executeArgs(r *request, name string) (*structs.PreparedQueryExecuteRequest, error) {
	args := &structs.PreparedQueryExecuteRequest{
		QueryIDOrName: name,
		Agent:         structs.QuerySource{Datacenter: s.cfg.Datacenter, Node: s.agent.Node().Node},
	}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	if v := r.query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badRequest("Bad limit %q: want a number of nodes, 0 for all", v)
		}
		args.Limit = n
	}
	if boolParam(r, "connect") {
		return nil, badRequest("?connect: service mesh is not supported by beacon")
	}
	args.Source = structs.QuerySource{Datacenter: s.cfg.Datacenter, Node: r.query.Get("near"), IP: sourceIP(r)}
	return args, nil
}

// sourceIP is the caller's address: the first of X-Forwarded-For, else the
// connection's.
func sourceIP(r *request) string {
	if fwd := r.Header.Get("X-Forwarded-For"); fwd != "" {
		first, _, _ := strings.Cut(fwd, ",")
		if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
			return ip.String()
		}
	}
	if a, ok := r.RemoteAddr.(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ""
}

// executeResponse is Consul's answer to an execute.
type executeResponse struct {
	Service    string
	Nodes      []structs.CheckServiceNode
	DNS        structs.QueryDNSOptions
	Datacenter string
	Failovers  int
}

func (s *Server) queryExecute(w *httpserver.Response, r *request, name string) (interface{}, error) {
	args, err := s.executeArgs(r, name)
	if err != nil {
		return nil, err
	}
	var out structs.PreparedQueryExecuteResponse
	if err := read(s, w, r, args, &out, s.backend.PreparedQueryExecute); err != nil {
		return nil, queryError(err)
	}
	if out.Nodes == nil {
		out.Nodes = []structs.CheckServiceNode{}
	}
	return executeResponse{out.Service, out.Nodes, out.DNS, out.Datacenter, out.Failovers}, nil
}

func (s *Server) queryExplain(w *httpserver.Response, r *request, name string) (interface{}, error) {
	args, err := s.executeArgs(r, name)
	if err != nil {
		return nil, err
	}
	var out structs.PreparedQueryExplainResponse
	if err := read(s, w, r, args, &out, s.backend.PreparedQueryExplain); err != nil {
		return nil, queryError(err)
	}
	return struct{ Query structs.PreparedQuery }{out.Query}, nil
}

// queryError answers a query that does not exist with 404, as Consul does.
func queryError(err error) error {
	if errors.Is(err, structs.ErrQueryNotFound) {
		return notFound("%s", err.Error())
	}
	return err
}
