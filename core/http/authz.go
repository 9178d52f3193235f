package http

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/httpserver"
)

// extractToken finds the token a request carries: X-Consul-Token, a
// bearer Authorization header, or ?token, in that order; "" when none.
func extractToken(header func(string) string, query url.Values) string {
	if t := strings.TrimSpace(header("X-Consul-Token")); t != "" {
		return t
	}
	a := header("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		if t := strings.TrimSpace(a[7:]); t != "" {
			return t
		}
	}
	return query.Get("token")
}

// requestToken is the request's token, or the agent's default token when
// it carries none.
func (s *Server) requestToken(r *request) string {
	if t := extractToken(r.Header.Get, r.query); t != "" {
		return t
	}
	return s.agent.Tokens().UserToken()
}

// recoveryAuthorizer is what the agent_recovery token grants: this agent's
// own endpoints and reading nodes, so an operator can get in while the
// servers are unreachable.
func recoveryAuthorizer(node string) *acl.Authorizer {
	rules, err := acl.Parse("agent " + strconv.Quote(node) + ` { policy = "write" }` + "\n" + `node_prefix "" { policy = "read" }`)
	if err != nil {
		return acl.DenyAll()
	}
	return acl.New("agent-recovery", rules, acl.PolicyDeny)
}

// authorize resolves the request's token for the endpoints the agent
// answers itself (the server side authorizes the rest); nil, which allows
// everything, when ACLs are off.
func (s *Server) authorize(r *request) (*acl.Authorizer, error) {
	if !s.cfg.ACL.Enabled() {
		return nil, nil
	}
	if s.agent.Tokens().IsAgentRecovery(r.token) {
		return s.recovery, nil
	}
	return s.cfg.ACL.Resolve(r.Context(), r.token)
}

// require resolves the request's token and checks one permission.
func (s *Server) require(r *request, res acl.Resource, name string, need acl.Access) (*acl.Authorizer, error) {
	authz, err := s.authorize(r)
	if err != nil {
		return nil, err
	}
	return authz, authz.Check(res, name, need)
}

// filtered marks a response that left out what the token may not read.
func filtered(w *httpserver.Response, any bool) {
	if any {
		w.SetHeader("X-Consul-Results-Filtered-By-ACLs", "true")
	}
}

// requireNodeWrite checks a write to the agent's own node.
func (s *Server) requireNodeWrite(r *request) error {
	_, err := s.require(r, acl.Node, s.agent.Node().Node, acl.Write)
	return err
}

// requireServiceWrite checks a change to a local service, by ID: write on
// its service name. An unknown ID passes; the handler answers it.
func (s *Server) requireServiceWrite(r *request, id string) error {
	if ns := s.agent.Service(id); ns != nil {
		_, err := s.require(r, acl.Service, ns.Service, acl.Write)
		return err
	}
	return nil
}

// requireCheckWrite checks a change to a local check: service:write on
// its service, node:write for a node check. An unknown ID passes.
func (s *Server) requireCheckWrite(r *request, id string) error {
	for _, c := range s.agent.Checks() {
		if c.CheckID != id {
			continue
		}
		if c.ServiceID != "" {
			if ns := s.agent.Service(c.ServiceID); ns != nil {
				_, err := s.require(r, acl.Service, ns.Service, acl.Write)
				return err
			}
		}
		return s.requireNodeWrite(r)
	}
	return nil
}

// requireAgentWrite checks agent:write on this agent (reload, join,
// leave).
func (s *Server) requireAgentWrite(r *request) error {
	_, err := s.require(r, acl.Agent, s.agent.Node().Node, acl.Write)
	return err
}

// secretPaths are the routes whose argument is a SecretID: the legacy
// ACL API names tokens by their secrets.
var secretPaths = []string{"/v1/acl/info/", "/v1/acl/destroy/", "/v1/acl/clone/"}

// logPath is a request path fit for the log: a secret in it is hidden.
func logPath(path string) string {
	for _, p := range secretPaths {
		if strings.HasPrefix(path, p) && len(path) > len(p) {
			return p + "<hidden>"
		}
	}
	return path
}

// cookie reads one cookie from a Cookie header.
func cookie(header, name string) string {
	for _, part := range strings.Split(header, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == name {
			return v
		}
	}
	return ""
}
