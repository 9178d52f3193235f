package http

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// roleBody is what PUT /v1/acl/role takes.
type roleBody struct {
	ID                string
	Name              string
	Description       string
	Policies          []structs.ACLLink
	ServiceIdentities []*structs.ACLServiceIdentity
	NodeIdentities    []*structs.ACLNodeIdentity
	TemplatedPolicies []*structs.ACLTemplatedPolicy
	serverFields
}

// aclRoleCreate is PUT /v1/acl/role.
func (s *Server) aclRoleCreate(w *httpserver.Response, r *request) (interface{}, error) {
	return s.aclRoleSet(r, "")
}

func (s *Server) aclRoleSet(r *request, id string) (interface{}, error) {
	var body roleBody
	if err := decodeStrict(r, &body, "Role"); err != nil {
		return nil, err
	}
	if err := body.check(); err != nil {
		return nil, err
	}
	switch {
	case id != "" && body.ID != "" && body.ID != id:
		return nil, badRequest("Role ID in URL and payload do not match")
	case id == "" && body.ID != "":
		return nil, badRequest("Cannot specify an ID when creating a role; update it at /v1/acl/role/%s", body.ID)
	case id != "":
		body.ID = id
	}
	req := s.aclWrite(r, structs.ACLRoleSet)
	req.ACLRole = &structs.ACLRole{ID: body.ID, Name: body.Name, Description: body.Description, Policies: body.Policies,
		ServiceIdentities: body.ServiceIdentities, NodeIdentities: body.NodeIdentities, TemplatedPolicies: body.TemplatedPolicies}
	return s.backend.ACLRoleSet(r.Context(), &req)
}

// aclRole serves /v1/acl/role/<id> and /v1/acl/role/name/<name>.
func (s *Server) aclRole(w *httpserver.Response, r *request) (interface{}, error) {
	id := tail(r, "/v1/acl/role/")
	args := structs.ACLSpecificRequest{ID: id}
	if name, ok := strings.CutPrefix(id, "name/"); ok && r.Method == get {
		if name == "" {
			return nil, badRequest("Missing role Name in the path: /v1/acl/role/name/<name>")
		}
		args = structs.ACLSpecificRequest{Name: unescapeName(name)}
	} else if id == "" || strings.Contains(id, "/") {
		return nil, badRequest("Missing role ID in the path: /v1/acl/role/<ID>")
	}
	switch r.Method {
	case put:
		return s.aclRoleSet(r, id)
	case del:
		req := s.aclWrite(r, structs.ACLRoleDelete)
		req.ID = id
		return notFoundAs(s.backend.ACLRoleDelete(r.Context(), &req))("Cannot find role to delete")
	}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLRoles
	if err := read(s, w, r, &args, &out, s.backend.ACLRoleGet); err != nil {
		return nil, err
	}
	if len(out.Roles) == 0 {
		return nil, notFound("Requested role does not exist: %v", structs.ErrACLNotFound)
	}
	return out.Roles[0], nil
}

// notFoundAs answers a delete of something that does not exist with 404
// and msg.
func notFoundAs(ok bool, err error) func(msg string) (interface{}, error) {
	return func(msg string) (interface{}, error) {
		if errors.Is(err, structs.ErrACLNotFound) && !errors.Is(err, structs.ErrPermissionDenied) {
			return nil, notFound("%s", msg)
		}
		if err != nil {
			return nil, err
		}
		return ok, nil
	}
}

// aclRoleList is GET /v1/acl/roles[?policy=ID].
func (s *Server) aclRoleList(w *httpserver.Response, r *request) (interface{}, error) {
	args := structs.ACLListRequest{Policy: r.query.Get("policy")}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedACLRoles
	if err := read(s, w, r, &args, &out, s.backend.ACLRoleList); err != nil {
		return nil, err
	}
	return out.Roles, nil
}

// templateInfo is a templated policy as the API shows it.
type templateInfo struct {
	TemplateName string
	Schema       string
	Template     string
	Description  string
}

func infoOf(t *acl.Template) templateInfo {
	return templateInfo{TemplateName: t.Name, Schema: t.Schema, Template: t.Text, Description: t.Description}
}

// requireACL checks that ACLs are on and the request's token may read
// ACLs.
func (s *Server) requireACLRead(r *request) error {
	if !s.cfg.ACL.Enabled() {
		return structs.ErrACLDisabled
	}
	_, err := s.require(r, acl.ACL, "", acl.Read)
	return err
}

// aclTemplatedPolicies is GET /v1/acl/templated-policies.
func (s *Server) aclTemplatedPolicies(w *httpserver.Response, r *request) (interface{}, error) {
	if err := s.requireACLRead(r); err != nil {
		return nil, err
	}
	out := map[string]templateInfo{}
	for _, t := range acl.Templates() {
		out[t.Name] = infoOf(t)
	}
	return out, nil
}

// aclTemplatedPolicy serves GET /v1/acl/templated-policy/name/<name> and
// POST /v1/acl/templated-policy/preview/<name>.
func (s *Server) aclTemplatedPolicy(w *httpserver.Response, r *request) (interface{}, error) {
	rest := tail(r, "/v1/acl/templated-policy/")
	op, name, _ := strings.Cut(rest, "/")
	switch {
	case op == "name" && r.Method == get, op == "preview" && r.Method == pst:
	default:
		return nil, &codedError{http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use GET /v1/acl/templated-policy/name/<name> or POST /v1/acl/templated-policy/preview/<name>", r.Method, r.Path)}
	}
	if name == "" {
		return nil, badRequest("Missing templated policy Name")
	}
	if err := s.requireACLRead(r); err != nil {
		return nil, err
	}
	t, ok := acl.LookupTemplate(name)
	if !ok {
		return nil, badRequest("Invalid templated policy Name: %s (there are %v)", name, acl.TemplateNames())
	}
	if op == "name" {
		return infoOf(t), nil
	}
	var vars structs.ACLTemplatedPolicyVariables
	if err := decodeStrict(r, &vars, "Templated policy variables"); err != nil {
		return nil, err
	}
	rules, err := t.Render(&vars)
	if err != nil {
		return nil, badRequest("validation error for templated policy: %q: %v", t.Name, err)
	}
	h := fnv.New128a()
	h.Write([]byte(rules))
	id := fmt.Sprintf("%x", h.Sum(nil))
	p := &structs.ACLPolicy{ID: id, Name: "synthetic-policy-" + id,
		Description: "synthetic policy generated from templated policy: " + t.Name, Rules: rules}
	p.SetHash()
	return p, nil
}
