package http

import (
	"bytes"
	"net/url"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/agent"
	"github.com/beacon-sd/beacon/core/decode"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// tokenBody is what PUT /v1/acl/token takes: api.ACLToken's fields, with
// ExpirationTTL as "1h" or nanoseconds. What the server computes
// (CreateTime, Hash, the indexes) may be sent back as read and is not
// used.
type tokenBody struct {
	AccessorID        string
	SecretID          string
	Description       string
	Policies          []structs.ACLLink
	Roles             []structs.ACLLink
	ServiceIdentities []*structs.ACLServiceIdentity
	NodeIdentities    []*structs.ACLNodeIdentity
	TemplatedPolicies []*structs.ACLTemplatedPolicy
	Local             bool
	AuthMethod        string
	ExpirationTime    *time.Time
	ExpirationTTL     structs.Duration
	serverFields
}

// serverFields are the fields of ACL objects the server computes, which
// clients send back as they read them, and Consul Enterprise's scoping,
// which only its default value passes.
type serverFields struct {
	CreateTime  *time.Time
	Hash        []byte
	CreateIndex uint64
	ModifyIndex uint64
	Namespace   string
	Partition   string
	// AuthMethodNamespace is the namespace of a token's auth method.
	AuthMethodNamespace string
}

// check refuses enterprise scopes other than the default.
func (f *serverFields) check() error {
	for _, v := range [][2]string{{"Namespace", f.Namespace}, {"Partition", f.Partition}, {"AuthMethodNamespace", f.AuthMethodNamespace}} {
		if v[1] != "" && v[1] != "default" {
			return badRequest("%s %q: namespaces and admin partitions are Consul Enterprise features that beacon does not have", v[0], v[1])
		}
	}
	return nil
}

// decodeStrict reads a JSON body like decodeBody, refusing keys that
// are no field of out; what names the object in errors.
func decodeStrict(r *request, out interface{}, what string) error {
	if len(r.Body) > maxJSONBody {
		return decodeBody(r, out) // answers the size
	}
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return nil
	}
	if err := decode.JSON(r.Body, out, true); err != nil {
		return badRequest("%s decode failed: %v", what, err)
	}
	return nil
}

func (b *tokenBody) token() (*structs.ACLToken, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	t := &structs.ACLToken{AccessorID: b.AccessorID, SecretID: b.SecretID, Description: b.Description,
		Policies: b.Policies, Roles: b.Roles, ServiceIdentities: b.ServiceIdentities, NodeIdentities: b.NodeIdentities,
		TemplatedPolicies: b.TemplatedPolicies, Local: b.Local, AuthMethod: b.AuthMethod, ExpirationTime: b.ExpirationTime}
	switch {
	case b.ExpirationTTL < 0:
		return nil, badRequest("Token Expiration TTL '%s' should be > 0", b.ExpirationTTL.D())
	case b.ExpirationTTL > 0 && b.ExpirationTime != nil:
		return nil, badRequest("Token Expiration TTL and Expiration Time cannot both be set")
	case b.ExpirationTTL > 0:
		exp := time.Now().UTC().Add(b.ExpirationTTL.D())
		t.ExpirationTime = &exp
	}
	return t, nil
}

func (s *Server) aclWrite(r *request, op structs.ACLOp) structs.ACLRequest {
	req := structs.ACLRequest{Datacenter: r.query.Get("dc"), Op: op}
	req.Token = token(r)
	return req
}

func (s *Server) aclBootstrap(w *httpserver.Response, r *request) (interface{}, error) {
	var body struct{ BootstrapSecret string }
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	req := s.aclWrite(r, structs.ACLBootstrap)
	req.ACLToken = &structs.ACLToken{SecretID: body.BootstrapSecret}
	return s.backend.ACLBootstrap(r.Context(), &req)
}

// aclTokenCreate is PUT /v1/acl/token.
func (s *Server) aclTokenCreate(w *httpserver.Response, r *request) (interface{}, error) {
	return s.aclTokenSet(r, "")
}

func (s *Server) aclTokenSet(r *request, accessor string) (interface{}, error) {
	var body tokenBody
	if err := decodeStrict(r, &body, "Token"); err != nil {
		return nil, err
	}
	if accessor != "" && body.AccessorID != "" && body.AccessorID != accessor {
		return nil, badRequest("Token update failed: the AccessorID in the body (%s) is not the one in the URL (%s)", body.AccessorID, accessor)
	}
	tok, err := body.token()
	if err != nil {
		return nil, err
	}
	req := s.aclWrite(r, structs.ACLTokenSet)
	req.ACLToken, req.ID = tok, accessor
	return s.backend.ACLTokenSet(r.Context(), &req)
}

// aclToken serves /v1/acl/token/<accessor>[/clone] and /v1/acl/token/self.
func (s *Server) aclToken(w *httpserver.Response, r *request) (interface{}, error) {
	id := tail(r, "/v1/acl/token/")
	if id == "self" && r.Method == get {
		if r.token == "" {
			return nil, notFound("Supplied token does not exist")
		}
		return s.aclTokenRead(w, r, structs.ACLSpecificRequest{Self: true})
	}
	if base, ok := strings.CutSuffix(id, "/clone"); ok && r.Method == put {
		return s.aclTokenClone(r, base)
	}
	if id == "" || strings.Contains(id, "/") {
		return nil, badRequest("Missing token AccessorID in the path: /v1/acl/token/<AccessorID>")
	}
	switch r.Method {
	case put:
		return s.aclTokenSet(r, id)
	case del:
		req := s.aclWrite(r, structs.ACLTokenDelete)
		req.ID = id
		return s.backend.ACLTokenDelete(r.Context(), &req)
	}
	return s.aclTokenRead(w, r, structs.ACLSpecificRequest{ID: id})
}

func (s *Server) aclTokenRead(w *httpserver.Response, r *request, args structs.ACLSpecificRequest) (interface{}, error) {
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLTokens
	if err := read(s, w, r, &args, &out, s.backend.ACLTokenGet); err != nil {
		return nil, err
	}
	if len(out.Tokens) == 0 {
		return nil, structs.ErrACLNotFound
	}
	return out.Tokens[0], nil
}

// aclTokenClone makes a new token with the rights of another.
func (s *Server) aclTokenClone(r *request, accessor string) (interface{}, error) {
	var body struct {
		Description string
		serverFields
	}
	if err := decodeStrict(r, &body, "Token"); err != nil {
		return nil, err
	}
	if err := body.check(); err != nil {
		return nil, err
	}
	args := structs.ACLSpecificRequest{ID: accessor}
	args.Token = token(r)
	var out structs.IndexedACLTokens
	if err := s.backend.ACLTokenGet(r.Context(), &args, &out); err != nil {
		return nil, err
	}
	if len(out.Tokens) == 0 {
		return nil, structs.ErrACLNotFound
	}
	src := out.Tokens[0]
	if src.AuthMethod != "" {
		return nil, badRequest("Cannot clone a token created from an auth method")
	}
	clone := &structs.ACLToken{Description: src.Description, Policies: src.Policies, Roles: src.Roles,
		ServiceIdentities: src.ServiceIdentities, NodeIdentities: src.NodeIdentities, TemplatedPolicies: src.TemplatedPolicies,
		Local: src.Local, Rules: src.Rules, ExpirationTime: src.ExpirationTime}
	if body.Description != "" {
		clone.Description = body.Description
	}
	req := s.aclWrite(r, structs.ACLTokenSet)
	req.ACLToken = clone
	return s.backend.ACLTokenSet(r.Context(), &req)
}

func (s *Server) aclTokenList(w *httpserver.Response, r *request) (interface{}, error) {
	q := r.query
	args := structs.ACLListRequest{Policy: q.Get("policy"), Role: q.Get("role"), AuthMethod: q.Get("authmethod"), ServiceName: q.Get("servicename")}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLTokens
	if err := read(s, w, r, &args, &out, s.backend.ACLTokenList); err != nil {
		return nil, err
	}
	return out.Tokens, nil
}

// policyBody is what PUT /v1/acl/policy takes.
type policyBody struct {
	ID          string
	Name        string
	Description string
	Rules       string
	Datacenters []string
	serverFields
}

func (s *Server) aclPolicyCreate(w *httpserver.Response, r *request) (interface{}, error) {
	return s.aclPolicySet(r, "")
}

func (s *Server) aclPolicySet(r *request, id string) (interface{}, error) {
	var body policyBody
	if err := decodeStrict(r, &body, "Policy"); err != nil {
		return nil, err
	}
	if err := body.check(); err != nil {
		return nil, err
	}
	if id != "" && body.ID != "" && body.ID != id {
		return nil, badRequest("Policy update failed: the ID in the body (%s) is not the one in the URL (%s)", body.ID, id)
	}
	if id == "" && body.ID != "" {
		return nil, badRequest("Cannot specify an ID when creating a policy; update it at /v1/acl/policy/%s", body.ID)
	}
	if id != "" {
		body.ID = id
	}
	if _, err := acl.Parse(body.Rules); err != nil {
		return nil, badRequest("Invalid Policy: %v", err)
	}
	req := s.aclWrite(r, structs.ACLPolicySet)
	req.ACLPolicy = &structs.ACLPolicy{ID: body.ID, Name: body.Name, Description: body.Description,
		Rules: body.Rules, Datacenters: body.Datacenters}
	return s.backend.ACLPolicySet(r.Context(), &req)
}

// aclPolicy serves /v1/acl/policy/<id> and /v1/acl/policy/name/<name>.
func (s *Server) aclPolicy(w *httpserver.Response, r *request) (interface{}, error) {
	id := tail(r, "/v1/acl/policy/")
	args := structs.ACLSpecificRequest{ID: id}
	if name, ok := strings.CutPrefix(id, "name/"); ok && r.Method == get {
		args = structs.ACLSpecificRequest{Name: unescapeName(name)}
	} else if id == "" || strings.Contains(id, "/") {
		return nil, badRequest("Missing policy ID in the path: /v1/acl/policy/<ID>")
	}
	switch r.Method {
	case put:
		return s.aclPolicySet(r, id)
	case del:
		req := s.aclWrite(r, structs.ACLPolicyDelete)
		req.ID = id
		return s.backend.ACLPolicyDelete(r.Context(), &req)
	}
	if args.ID == "" && args.Name == "" {
		return nil, badRequest("Missing policy name in the path: /v1/acl/policy/name/<name>")
	}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLPolicies
	if err := read(s, w, r, &args, &out, s.backend.ACLPolicyGet); err != nil {
		return nil, err
	}
	if len(out.Policies) == 0 {
		return nil, structs.ErrACLNotFound
	}
	return out.Policies[0], nil
}

// unescapeName undoes the escape the official client applies to names in
// paths (url.QueryEscape, which its URL escapes again): a policy or role
// name cannot hold '%', so a '%' is an escape.
func unescapeName(name string) string {
	if u, err := url.PathUnescape(name); err == nil {
		return u
	}
	return name
}

// policyListEntry is a policy as /v1/acl/policies lists it: without rules.
type policyListEntry struct {
	ID          string
	Name        string
	Description string
	Datacenters []string
	Hash        []byte
	CreateIndex uint64
	ModifyIndex uint64
}

func (s *Server) aclPolicyList(w *httpserver.Response, r *request) (interface{}, error) {
	var args structs.ACLListRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLPolicies
	if err := read(s, w, r, &args, &out, s.backend.ACLPolicyList); err != nil {
		return nil, err
	}
	list := make([]policyListEntry, 0, len(out.Policies))
	for _, p := range out.Policies {
		list = append(list, policyListEntry{ID: p.ID, Name: p.Name, Description: p.Description,
			Datacenters: p.Datacenters, Hash: p.Hash, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex})
	}
	return list, nil
}

// aclReplication answers /v1/acl/replication: one datacenter, nothing to
// replicate.
func (s *Server) aclReplication(w *httpserver.Response, r *request) (interface{}, error) {
	return map[string]interface{}{"Enabled": false, "Running": false, "SourceDatacenter": s.cfg.Datacenter,
		"ReplicationType": "", "ReplicatedIndex": 0, "ReplicatedRoleIndex": 0, "ReplicatedTokenIndex": 0,
		"LastSuccess": time.Time{}, "LastError": time.Time{}, "LastErrorMessage": ""}, nil
}

// agentToken is PUT /v1/agent/token/<kind>: replaces one of the agent's
// own tokens, kept across restarts with enable_token_persistence.
func (s *Server) agentToken(w *httpserver.Response, r *request) (interface{}, error) {
	if _, err := s.require(r, acl.ACL, "", acl.Write); err != nil {
		return nil, err
	}
	name := tail(r, "/v1/agent/token/")
	if _, ok := agent.TokenKind(name); !ok {
		return nil, notFound("Token %q is unknown", name)
	}
	var body struct{ Token string }
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if err := s.agent.Tokens().Set(name, body.Token); err != nil {
		return nil, err
	}
	s.cfg.ACL.Purge()
	s.logger.Info("agent ACL token updated", "token", name)
	return nil, nil
}
