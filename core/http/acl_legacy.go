package http

import (
	"errors"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// The pre-1.4 ACL API: a token is named by its secret (ID), has a Name, a
// Type (client or management) and inline Rules. Such tokens are ordinary
// tokens here: management ones link to global-management, client ones keep
// their rules.

// legacyEntry shows a token in the legacy shape.
func legacyEntry(t *structs.ACLToken) *api.ACLEntry {
	typ := structs.ACLTypeClient
	if t.HasPolicy(structs.ACLPolicyGlobalManagementID) {
		typ = structs.ACLTypeManagement
	}
	return &api.ACLEntry{ID: t.SecretID, Name: t.Description, Type: typ, Rules: t.Rules,
		CreateIndex: t.CreateIndex, ModifyIndex: t.ModifyIndex}
}

// legacyToken reads a token by its secret; nil when none has it.
func (s *Server) legacyToken(r *request, secret string) (*structs.ACLToken, error) {
	args := structs.ACLSpecificRequest{Datacenter: r.query.Get("dc"), Self: true}
	args.Token = secret
	var out structs.IndexedACLTokens
	err := s.backend.ACLTokenGet(r.Context(), &args, &out)
	if err != nil || len(out.Tokens) == 0 {
		if err == nil || errors.Is(err, structs.ErrACLNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return out.Tokens[0], nil
}

// legacySet applies an ACLEntry: a new token, or the token whose secret
// is entry.ID.
func (s *Server) legacySet(r *request, e *api.ACLEntry, update bool) (string, error) {
	switch e.Type {
	case "":
		e.Type = structs.ACLTypeClient
	case structs.ACLTypeClient, structs.ACLTypeManagement:
	default:
		return "", badRequest("Invalid ACL Type %q: want client or management", e.Type)
	}
	if _, err := acl.Parse(e.Rules); err != nil {
		return "", badRequest("Invalid rules: %v", err)
	}
	tok := &structs.ACLToken{SecretID: e.ID, Description: e.Name, Rules: e.Rules}
	if e.Type == structs.ACLTypeManagement {
		tok.Rules = ""
		tok.Policies = []structs.ACLLink{{ID: structs.ACLPolicyGlobalManagementID}}
	}
	req := s.aclWrite(r, structs.ACLTokenSet)
	req.ACLToken = tok
	if e.ID != "" {
		old, err := s.legacyToken(r, e.ID)
		if err != nil {
			return "", err
		}
		switch {
		case old != nil:
			req.ID = old.AccessorID
		case update:
			return "", badRequest("ACL %q not found; create it with /v1/acl/create", e.ID)
		}
	} else if update {
		return "", badRequest("Missing ACL ID in the body")
	}
	saved, err := s.backend.ACLTokenSet(r.Context(), &req)
	if err != nil {
		return "", err
	}
	return saved.SecretID, nil
}

func (s *Server) aclLegacyCreate(w *httpserver.Response, r *request) (interface{}, error) {
	var e api.ACLEntry
	if err := decodeBody(r, &e); err != nil {
		return nil, err
	}
	id, err := s.legacySet(r, &e, false)
	if err != nil {
		return nil, err
	}
	return struct{ ID string }{id}, nil
}

func (s *Server) aclLegacyUpdate(w *httpserver.Response, r *request) (interface{}, error) {
	var e api.ACLEntry
	if err := decodeBody(r, &e); err != nil {
		return nil, err
	}
	id, err := s.legacySet(r, &e, true)
	if err != nil {
		return nil, err
	}
	return struct{ ID string }{id}, nil
}

func (s *Server) aclLegacyDestroy(w *httpserver.Response, r *request) (interface{}, error) {
	old, err := s.legacyToken(r, tail(r, "/v1/acl/destroy/"))
	if err != nil {
		return nil, err
	}
	if old == nil {
		return true, nil
	}
	req := s.aclWrite(r, structs.ACLTokenDelete)
	req.ID = old.AccessorID
	return s.backend.ACLTokenDelete(r.Context(), &req)
}

func (s *Server) aclLegacyClone(w *httpserver.Response, r *request) (interface{}, error) {
	old, err := s.legacyToken(r, tail(r, "/v1/acl/clone/"))
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, structs.ErrACLNotFound
	}
	e := legacyEntry(old)
	e.ID = ""
	id, err := s.legacySet(r, e, false)
	if err != nil {
		return nil, err
	}
	return struct{ ID string }{id}, nil
}

func (s *Server) aclLegacyInfo(w *httpserver.Response, r *request) (interface{}, error) {
	tok, err := s.legacyToken(r, tail(r, "/v1/acl/info/"))
	if err != nil {
		return nil, err
	}
	out := []*api.ACLEntry{}
	if tok != nil {
		out = append(out, legacyEntry(tok))
	}
	return out, nil
}

func (s *Server) aclLegacyList(w *httpserver.Response, r *request) (interface{}, error) {
	var args structs.ACLListRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLTokens
	if err := read(s, w, r, &args, &out, s.backend.ACLTokenList); err != nil {
		return nil, err
	}
	list := make([]*api.ACLEntry, 0, len(out.Tokens))
	for _, t := range out.Tokens {
		list = append(list, legacyEntry(t))
	}
	return list, nil
}
