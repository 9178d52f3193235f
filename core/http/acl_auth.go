package http

import (
	"net/http"
	"strings"

	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// methodBody is what PUT /v1/acl/auth-method takes.
type methodBody struct {
	Name          string
	Type          string
	DisplayName   string
	Description   string
	MaxTokenTTL   structs.Duration
	TokenLocality string
	Config        map[string]interface{}
	// NamespaceRules are Consul Enterprise's; only an empty list passes.
	NamespaceRules []interface{}
	serverFields
}

// aclMethodCreate is PUT /v1/acl/auth-method.
func (s *Server) aclMethodCreate(w *httpserver.Response, r *request) (interface{}, error) {
	return s.aclMethodSet(r, "")
}

func (s *Server) aclMethodSet(r *request, name string) (interface{}, error) {
	var body methodBody
	if err := decodeStrict(r, &body, "AuthMethod"); err != nil {
		return nil, err
	}
	if err := body.check(); err != nil {
		return nil, err
	}
	if len(body.NamespaceRules) > 0 {
		return nil, badRequest("NamespaceRules: namespaces are a Consul Enterprise feature that beacon does not have")
	}
	if name != "" {
		if body.Name != "" && body.Name != name {
			return nil, badRequest("AuthMethod Name in URL and payload do not match")
		}
		body.Name = name
	}
	req := s.aclWrite(r, structs.ACLMethodSet)
	req.ACLAuthMethod = &structs.ACLAuthMethod{Name: body.Name, Type: body.Type, DisplayName: body.DisplayName,
		Description: body.Description, MaxTokenTTL: body.MaxTokenTTL, TokenLocality: body.TokenLocality, Config: body.Config}
	return s.backend.ACLAuthMethodSet(r.Context(), &req)
}

// aclMethod serves /v1/acl/auth-method/<name>.
func (s *Server) aclMethod(w *httpserver.Response, r *request) (interface{}, error) {
	name := tail(r, "/v1/acl/auth-method/")
	if name == "" || strings.Contains(name, "/") {
		return nil, badRequest("Missing auth method name in the path: /v1/acl/auth-method/<name>")
	}
	switch r.Method {
	case put:
		return s.aclMethodSet(r, name)
	case del:
		req := s.aclWrite(r, structs.ACLMethodDelete)
		req.ID = name
		return notFoundAs(s.backend.ACLAuthMethodDelete(r.Context(), &req))("Cannot find auth method to delete")
	}
	args := structs.ACLSpecificRequest{Name: name}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLAuthMethods
	if err := read(s, w, r, &args, &out, s.backend.ACLAuthMethodGet); err != nil {
		return nil, err
	}
	if len(out.AuthMethods) == 0 {
		return nil, notFound("Requested auth method does not exist: %v", structs.ErrACLNotFound)
	}
	return out.AuthMethods[0], nil
}

// methodListEntry is an auth method as /v1/acl/auth-methods lists it:
// without its configuration.
type methodListEntry struct {
	Name          string
	Type          string
	DisplayName   string           `json:",omitempty"`
	Description   string           `json:",omitempty"`
	MaxTokenTTL   structs.Duration `json:",omitempty"`
	TokenLocality string           `json:",omitempty"`
	CreateIndex   uint64
	ModifyIndex   uint64
}

// aclMethodList is GET /v1/acl/auth-methods.
func (s *Server) aclMethodList(w *httpserver.Response, r *request) (interface{}, error) {
	var args structs.ACLListRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLAuthMethods
	if err := read(s, w, r, &args, &out, s.backend.ACLAuthMethodList); err != nil {
		return nil, err
	}
	list := make([]methodListEntry, 0, len(out.AuthMethods))
	for _, m := range out.AuthMethods {
		list = append(list, methodListEntry{Name: m.Name, Type: m.Type, DisplayName: m.DisplayName, Description: m.Description,
			MaxTokenTTL: m.MaxTokenTTL, TokenLocality: m.TokenLocality, CreateIndex: m.CreateIndex, ModifyIndex: m.ModifyIndex})
	}
	return list, nil
}

// ruleBody is what PUT /v1/acl/binding-rule takes.
type ruleBody struct {
	ID          string
	Description string
	AuthMethod  string
	Selector    string
	BindType    string
	BindName    string
	BindVars    *structs.ACLTemplatedPolicyVariables
	serverFields
}

// aclRuleCreate is PUT /v1/acl/binding-rule.
func (s *Server) aclRuleCreate(w *httpserver.Response, r *request) (interface{}, error) {
	return s.aclRuleSet(r, "")
}

func (s *Server) aclRuleSet(r *request, id string) (interface{}, error) {
	var body ruleBody
	if err := decodeStrict(r, &body, "BindingRule"); err != nil {
		return nil, err
	}
	if err := body.check(); err != nil {
		return nil, err
	}
	switch {
	case id != "" && body.ID != "" && body.ID != id:
		return nil, badRequest("BindingRule ID in URL and payload do not match")
	case id == "" && body.ID != "":
		return nil, badRequest("Cannot specify an ID when creating a binding rule; update it at /v1/acl/binding-rule/%s", body.ID)
	case id != "":
		body.ID = id
	}
	req := s.aclWrite(r, structs.ACLRuleSet)
	req.ACLBindingRule = &structs.ACLBindingRule{ID: body.ID, Description: body.Description, AuthMethod: body.AuthMethod,
		Selector: body.Selector, BindType: body.BindType, BindName: body.BindName, BindVars: body.BindVars}
	return s.backend.ACLBindingRuleSet(r.Context(), &req)
}

// aclRule serves /v1/acl/binding-rule/<id>.
func (s *Server) aclRule(w *httpserver.Response, r *request) (interface{}, error) {
	id := tail(r, "/v1/acl/binding-rule/")
	if id == "" || strings.Contains(id, "/") {
		return nil, badRequest("Missing binding rule ID in the path: /v1/acl/binding-rule/<ID>")
	}
	switch r.Method {
	case put:
		return s.aclRuleSet(r, id)
	case del:
		req := s.aclWrite(r, structs.ACLRuleDelete)
		req.ID = id
		return notFoundAs(s.backend.ACLBindingRuleDelete(r.Context(), &req))("Cannot find binding rule to delete")
	}
	args := structs.ACLSpecificRequest{ID: id}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLBindingRules
	if err := read(s, w, r, &args, &out, s.backend.ACLBindingRuleGet); err != nil {
		return nil, err
	}
	if len(out.BindingRules) == 0 {
		return nil, notFound("Requested binding rule does not exist: %v", structs.ErrACLNotFound)
	}
	return out.BindingRules[0], nil
}

// aclRuleList is GET /v1/acl/binding-rules[?authmethod=NAME].
func (s *Server) aclRuleList(w *httpserver.Response, r *request) (interface{}, error) {
	args := structs.ACLListRequest{AuthMethod: r.query.Get("authmethod")}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLBindingRules
	if err := read(s, w, r, &args, &out, s.backend.ACLBindingRuleList); err != nil {
		return nil, err
	}
	return out.BindingRules, nil
}

// aclLogin is POST /v1/acl/login: a bearer token for a token of the
// cluster's. The request's own ACL token plays no part.
func (s *Server) aclLogin(w *httpserver.Response, r *request) (interface{}, error) {
	var body struct {
		AuthMethod  string
		BearerToken string
		Meta        map[string]string
		serverFields
	}
	if err := decodeStrict(r, &body, "Login request"); err != nil {
		return nil, err
	}
	if err := body.check(); err != nil {
		return nil, err
	}
	if body.AuthMethod == "" {
		return nil, badRequest("Invalid Login request: missing AuthMethod")
	}
	if body.BearerToken == "" {
		return nil, badRequest("Invalid Login request: missing BearerToken")
	}
	req := &structs.ACLLoginRequest{Datacenter: r.query.Get("dc"), AuthMethod: body.AuthMethod, BearerToken: body.BearerToken, Meta: body.Meta}
	return s.backend.ACLLogin(r.Context(), req)
}

// aclLogout is POST /v1/acl/logout: deletes the request's token, which a
// login made.
func (s *Server) aclLogout(w *httpserver.Response, r *request) (interface{}, error) {
	if r.token == "" {
		return nil, &codedError{http.StatusUnauthorized, "Supplied token does not exist"}
	}
	req := s.aclWrite(r, structs.ACLTokenDelete)
	ok, err := s.backend.ACLLogout(r.Context(), &req)
	if err == nil {
		s.cfg.ACL.Purge()
	}
	return ok, err
}
