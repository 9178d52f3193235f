package server

import (
	"context"
	"crypto/subtle"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// validPolicyName is Consul's rule for policy names: letters, digits,
// '-' and '_', with at most one '/' inside.
var validPolicyName = regexp.MustCompile(`^[A-Za-z0-9\-_]+/?[A-Za-z0-9\-_]*$`)

// checkPolicyName says what is wrong with a policy name, nil if nothing.
func checkPolicyName(name string) error {
	switch {
	case name == "":
		return structs.BadInput("Invalid Policy: no Name is set")
	case len(name) > 128:
		return structs.BadInput("Invalid Policy: invalid Name %q: longer than 128 characters", name)
	case strings.HasPrefix(name, "builtin/"):
		return structs.BadInput("Invalid Policy: invalid Name %q: names starting with 'builtin/' are reserved", name)
	case !validPolicyName.MatchString(name):
		return structs.BadInput("Invalid Policy: invalid Name %q: only letters, digits, '-', '_' and a single '/' are allowed", name)
	}
	return nil
}

// builtinPolicies are the policies every cluster has, by ID.
var builtinPolicies = map[string]*structs.ACLPolicy{
	structs.ACLPolicyGlobalManagementID: {ID: structs.ACLPolicyGlobalManagementID, Name: structs.ACLPolicyGlobalManagementName,
		Description: structs.ACLPolicyGlobalManagementDesc, Rules: builtinRules("write")},
	structs.ACLPolicyGlobalReadOnlyID: {ID: structs.ACLPolicyGlobalReadOnlyID, Name: structs.ACLPolicyGlobalReadOnlyName,
		Description: structs.ACLPolicyGlobalReadOnlyDesc, Rules: builtinRules("read")},
}

// builtinRules are the rules of the builtin policies: every resource at
// one level. The management policy grants everything whatever its rules
// say.
func builtinRules(level string) string {
	return strings.ReplaceAll(`
acl = "L"
agent_prefix "" {
	policy = "L"
}
event_prefix "" {
	policy = "L"
}
key_prefix "" {
	policy = "L"
}
keyring = "L"
node_prefix "" {
	policy = "L"
}
operator = "L"
mesh = "L"
peering = "L"
query_prefix "" {
	policy = "L"
}
service_prefix "" {
	policy = "L"
	intentions = "L"
}
session_prefix "" {
	policy = "L"
}`, `"L"`, strconv.Quote(level))
}

// initializeACLs makes sure the builtin policies, the anonymous token and
// the configured initial management token exist. The leader runs it (and
// a dev server at start); each row is created only if missing, so what
// users changed stays.
func (s *Server) initializeACLs() error {
	if !s.acl.Enabled() {
		return nil
	}
	st := s.Store()
	for _, id := range []string{structs.ACLPolicyGlobalManagementID, structs.ACLPolicyGlobalReadOnlyID} {
		if _, p, err := st.ACLPolicyGet(nil, id, ""); err != nil {
			return err
		} else if p == nil {
			b := *builtinPolicies[id]
			if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLPolicySet, ACLPolicy: &b, CreateOnly: true}); err != nil {
				return err
			}
		}
	}
	if _, t, err := st.ACLTokenByAccessor(nil, structs.ACLTokenAnonymousID); err != nil {
		return err
	} else if t == nil {
		anon := &structs.ACLToken{AccessorID: structs.ACLTokenAnonymousID, SecretID: structs.ACLTokenAnonymousSecret,
			Description: structs.ACLTokenAnonymousDesc, CreateTime: time.Now().UTC()}
		if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLTokenSet, ACLToken: anon, CreateOnly: true}); err != nil {
			return err
		}
	}
	secret := s.cfg.InitialManagementToken
	if secret == "" {
		return nil
	}
	if _, t, err := st.ACLTokenBySecret(nil, secret); err != nil || t != nil {
		return err
	}
	tok := &structs.ACLToken{AccessorID: structs.GenerateUUID(), SecretID: secret,
		Description: structs.ACLInitialManagementDesc, CreateTime: time.Now().UTC(),
		Policies: []structs.ACLLink{{ID: structs.ACLPolicyGlobalManagementID}}}
	// The configured token takes the bootstrap when it is still free, as
	// in Consul, so that a later `acl bootstrap` cannot mint a second root.
	op := structs.ACLTokenSet
	if st.ACLBootstrapIndex() == 0 {
		op = structs.ACLBootstrap
	}
	if err := s.aclApply(&structs.ACLRequest{Op: op, ACLToken: tok, CreateOnly: true}); err != nil {
		return err
	}
	s.logger.Info("created the initial management token from the configuration")
	return nil
}

func (s *Server) aclApply(req *structs.ACLRequest) error {
	_, err := s.apply(&structs.Command{Type: structs.ACLRequestType, ACL: req})
	return err
}

// aclCheck is the prologue of every ACL endpoint: ACLs on, the right
// datacenter.
func (s *Server) aclCheck(dc string) error {
	if !s.acl.Enabled() {
		return structs.ErrACLDisabled
	}
	return s.checkDC(dc)
}

// aclWriteStart is the prologue of every ACL write but bootstrap: ACLs on,
// the right datacenter, on the leader, by a token with acl:write. done
// reports that the call is answered (forwarded, or refused with err).
func (s *Server) aclWriteStart(ctx context.Context, method string, args *structs.ACLRequest, out interface{}) (*acl.Authorizer, bool, error) {
	if err := s.aclCheck(args.Datacenter); err != nil {
		return nil, true, err
	}
	if done, err := s.forward(ctx, method, nil, args, out); done {
		return nil, true, err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err == nil {
		err = authz.Write(acl.ACL, "")
	}
	return authz, err != nil, err
}

// ACLBootstrap creates the first management token, once per cluster.
func (s *Server) ACLBootstrap(ctx context.Context, args *structs.ACLRequest) (*structs.ACLToken, error) {
	if err := s.aclCheck(args.Datacenter); err != nil {
		return nil, err
	}
	var out structs.ACLToken
	if done, err := s.forward(ctx, "ACLBootstrap", nil, args, &out); done {
		return &out, err
	}
	tok := &structs.ACLToken{AccessorID: structs.GenerateUUID(), SecretID: structs.GenerateUUID(),
		Description: structs.ACLBootstrapDesc, CreateTime: time.Now().UTC(),
		Policies: []structs.ACLLink{{ID: structs.ACLPolicyGlobalManagementID}}}
	if args.ACLToken != nil && args.ACLToken.SecretID != "" {
		tok.SecretID = args.ACLToken.SecretID
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLBootstrap, ACLToken: tok, WriteRequest: args.WriteRequest}); err != nil {
		return nil, err
	}
	s.logger.Info("ACL system bootstrapped", "accessor", tok.AccessorID)
	_, saved, err := s.Store().ACLTokenByAccessor(nil, tok.AccessorID)
	return saved, err
}

// ACLTokenSet creates a token (no AccessorID, or one not in use) or, when
// args.ID names it, updates one; policies may be linked by name or ID.
func (s *Server) ACLTokenSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLToken, error) {
	var out structs.ACLToken
	_, done, err := s.aclWriteStart(ctx, "ACLTokenSet", args, &out)
	if done {
		return &out, err
	}
	if args.ACLToken == nil {
		return nil, structs.BadInput("missing token")
	}
	tok := *args.ACLToken
	if args.ID != "" {
		tok.AccessorID = args.ID // an update names its token
	}
	st := s.Store()
	var existing *structs.ACLToken
	if tok.AccessorID != "" {
		if _, existing, err = st.ACLTokenByAccessor(nil, tok.AccessorID); err != nil {
			return nil, err
		}
	}
	if existing == nil && args.ID != "" {
		return nil, structs.BadInput("Cannot find token %q", args.ID)
	}
	if tok.AuthMethod != "" && (existing == nil || existing.AuthMethod != tok.AuthMethod) {
		return nil, structs.BadInput("AuthMethod field is disallowed outside of login")
	}
	switch {
	case existing != nil:
		tok.AuthMethod = existing.AuthMethod
		if tok.SecretID != "" && subtle.ConstantTimeCompare([]byte(tok.SecretID), []byte(existing.SecretID)) != 1 {
			return nil, structs.BadInput("Changing a token's SecretID is not permitted")
		}
		tok.SecretID = existing.SecretID
		tok.CreateTime = existing.CreateTime
		if tok.ExpirationTime == nil {
			tok.ExpirationTime = existing.ExpirationTime
		}
	default:
		if tok.AccessorID == "" {
			tok.AccessorID = structs.GenerateUUID()
		}
		if tok.SecretID == "" {
			tok.SecretID = structs.GenerateUUID()
		}
		tok.CreateTime = time.Now().UTC()
	}
	if err := s.linkGrants(st, &tok); err != nil {
		return nil, err
	}
	if tok.Rules != "" {
		if _, err := acl.Parse(tok.Rules); err != nil {
			return nil, structs.BadInput("Invalid rules: %v", err)
		}
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLTokenSet, ACLToken: &tok, WriteRequest: args.WriteRequest}); err != nil {
		return nil, err
	}
	_, saved, err := s.Store().ACLTokenByAccessor(nil, tok.AccessorID)
	return saved, err
}

// linkGrants checks what a token is given: it fills the IDs of policy
// and role links given by name, rejects links to policies and roles that
// do not exist, and checks its identities and templated policies.
func (s *Server) linkGrants(st *state.Store, tok *structs.ACLToken) error {
	var err error
	if tok.Policies, err = linkPolicies(st, tok.Policies); err != nil {
		return err
	}
	if tok.Roles, err = linkRoles(st, tok.Roles); err != nil {
		return err
	}
	for _, si := range tok.ServiceIdentities {
		if si != nil && tok.Local && len(si.Datacenters) > 0 {
			return structs.BadInput("Service identity %q cannot specify a list of datacenters on a local token", si.ServiceName)
		}
	}
	tok.ServiceIdentities, tok.NodeIdentities, tok.TemplatedPolicies, err =
		checkIdentities("token", tok.ServiceIdentities, tok.NodeIdentities, tok.TemplatedPolicies)
	return err
}

// linkPolicies fills the ID and name of policy links given by name or ID,
// without duplicates, and rejects links to policies that do not exist.
func linkPolicies(st *state.Store, in []structs.ACLLink) ([]structs.ACLLink, error) {
	links := make([]structs.ACLLink, 0, len(in))
	seen := map[string]bool{}
	for _, l := range in {
		if l.ID == "" && l.Name == "" {
			return nil, structs.BadInput("a policy link needs an ID or a Name")
		}
		_, p, err := st.ACLPolicyGet(nil, l.ID, l.Name)
		if err != nil {
			return nil, err
		}
		if p == nil {
			if l.ID == "" {
				return nil, structs.BadInput("No such ACL policy with name %q", l.Name)
			}
			return nil, structs.BadInput("No such ACL policy with ID %q", l.ID)
		}
		if !seen[p.ID] {
			seen[p.ID] = true
			links = append(links, structs.ACLLink{ID: p.ID, Name: p.Name})
		}
	}
	return links, nil
}

// ACLTokenDelete deletes a token by AccessorID.
func (s *Server) ACLTokenDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	var ok bool
	authz, done, err := s.aclWriteStart(ctx, "ACLTokenDelete", args, &ok)
	if done {
		return ok, err
	}
	if args.ID == structs.ACLTokenAnonymousID {
		return false, structs.BadInput("Delete operation not permitted on the anonymous token")
	}
	if args.ID == authz.AccessorID() {
		return false, structs.BadInput("Deletion of the request's authorization token is not permitted")
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLTokenDelete, ID: args.ID, WriteRequest: args.WriteRequest}); err != nil {
		return false, err
	}
	return true, nil
}

// ACLTokenGet reads a token by AccessorID, or the request's own token
// (Self, which needs no ACL rights). Secrets are shown to tokens that may
// change ACLs, and to the token itself.
func (s *Server) ACLTokenGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLTokens) error {
	if err := s.aclCheck(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "ACLTokenGet", &args.QueryOptions, args, reply); done {
		return err
	}
	if args.Self {
		id, err := s.aclIdentity(ctx, args.Token, false)
		if err != nil {
			return err
		}
		s.setQueryMeta(&reply.QueryMeta)
		reply.Index = id.Token.ModifyIndex
		reply.Tokens = []*structs.ACLToken{id.Token}
		return nil
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	if err := authz.Read(acl.ACL, ""); err != nil {
		return err
	}
	err = s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, tok, err := st.ACLTokenByAccessor(ws, args.ID)
		reply.Index, reply.Tokens = idx, nil
		if tok != nil {
			reply.Tokens = []*structs.ACLToken{redact(authz, tok)}
		}
		return err
	})
	if err == nil && len(reply.Tokens) == 0 {
		return structs.ErrACLNotFound
	}
	return err
}

func redact(authz *acl.Authorizer, t *structs.ACLToken) *structs.ACLToken {
	if authz.Allowed(acl.ACL, "", acl.Write) {
		return t
	}
	return t.Redacted()
}

// ACLTokenList lists tokens: all, or those that link to one policy or
// role, were made by one auth method, or have one service identity.
func (s *Server) ACLTokenList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLTokens) error {
	if err := s.aclCheck(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "ACLTokenList", &args.QueryOptions, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	if err := authz.Read(acl.ACL, ""); err != nil {
		return err
	}
	n := 0
	for _, f := range []string{args.Policy, args.Role, args.AuthMethod, args.ServiceName} {
		if f != "" {
			n++
		}
	}
	if n > 1 {
		return structs.BadInput("can only filter by one of policy, role, serviceName, or authMethod at a time")
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, list, err := st.ACLTokenList(ws, args)
		reply.Index, reply.Tokens = idx, make([]*structs.ACLToken, 0, len(list))
		for _, t := range list {
			reply.Tokens = append(reply.Tokens, redact(authz, t))
		}
		return err
	})
}

// ACLPolicySet creates (no ID) or updates a policy.
func (s *Server) ACLPolicySet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLPolicy, error) {
	var out structs.ACLPolicy
	_, done, err := s.aclWriteStart(ctx, "ACLPolicySet", args, &out)
	if done {
		return &out, err
	}
	if args.ACLPolicy == nil {
		return nil, structs.BadInput("missing policy")
	}
	p := *args.ACLPolicy
	if b, builtin := builtinPolicies[p.ID]; !builtin || p.Name != b.Name {
		if err := checkPolicyName(p.Name); err != nil {
			return nil, err
		}
	}
	if _, err := acl.Parse(p.Rules); err != nil {
		return nil, structs.BadInput("Invalid Policy: %v", err)
	}
	st := s.Store()
	if p.ID == "" {
		p.ID = structs.GenerateUUID()
	} else {
		_, old, err := st.ACLPolicyGet(nil, p.ID, "")
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, structs.BadInput("Cannot find policy %s", p.ID)
		}
		if _, builtin := builtinPolicies[p.ID]; builtin {
			switch {
			case len(p.Datacenters) > 0:
				return nil, structs.BadInput("Changing the Datacenters of the %s policy is not permitted", old.Name)
			case p.Rules != old.Rules:
				return nil, structs.BadInput("Changing the Rules for the builtin %s policy is not permitted", old.Name)
			case p.Name != old.Name:
				return nil, structs.BadInput("Changing the Name of the builtin %s policy is not permitted", old.Name)
			}
		}
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLPolicySet, ACLPolicy: &p, WriteRequest: args.WriteRequest}); err != nil {
		return nil, err
	}
	_, saved, err := s.Store().ACLPolicyGet(nil, p.ID, "")
	return saved, err
}

// ACLPolicyDelete deletes a policy; tokens lose their link to it.
func (s *Server) ACLPolicyDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	var ok bool
	_, done, err := s.aclWriteStart(ctx, "ACLPolicyDelete", args, &ok)
	if done {
		return ok, err
	}
	if b, ok := builtinPolicies[args.ID]; ok {
		return false, structs.BadInput("Delete operation not permitted on the builtin %s policy", b.Name)
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLPolicyDelete, ID: args.ID, WriteRequest: args.WriteRequest}); err != nil {
		return false, err
	}
	return true, nil
}

// ACLPolicyGet reads a policy by ID or by name.
func (s *Server) ACLPolicyGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLPolicies) error {
	return aclRead(s, ctx, "ACLPolicyGet", &args.QueryOptions, args.Datacenter, args, reply, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) (uint64, error) {
			idx, p, err := st.ACLPolicyGet(ws, args.ID, args.Name)
			reply.Policies = nil
			if p != nil {
				reply.Policies = []*structs.ACLPolicy{p}
			}
			return idx, err
		})
}

// ACLPolicyList lists every policy.
func (s *Server) ACLPolicyList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLPolicies) error {
	return aclRead(s, ctx, "ACLPolicyList", &args.QueryOptions, args.Datacenter, args, reply, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) (uint64, error) {
			idx, list, err := st.ACLPolicyList(ws)
			reply.Policies = list
			return idx, err
		})
}
