package server

import (
	"context"
	"fmt"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/structs"
)

// authorize resolves the token a request carries; nil (everything
// allowed) when ACLs are off. Every server resolves from its own store.
func (s *Server) authorize(ctx context.Context, secret string) (*acl.Authorizer, error) {
	return s.acl.Resolve(ctx, secret)
}

// authorizeGlobal checks a permission on a resource without names
// (operator, acl, keyring).
func (s *Server) authorizeGlobal(ctx context.Context, token string, res acl.Resource, need acl.Access) error {
	authz, err := s.authorize(ctx, token)
	if err != nil {
		return err
	}
	return authz.Check(res, "", need)
}

// aclIdentity finds what a secret grants in the store: the empty secret is
// the anonymous token. A follower that has not applied a new token yet
// asks the leader before it says "ACL not found".
func (s *Server) aclIdentity(ctx context.Context, secret string, noForward bool) (*structs.ACLIdentity, error) {
	if secret == "" {
		secret = structs.ACLTokenAnonymousSecret
	}
	id, err := s.Store().ACLIdentity(secret)
	if err != nil || id != nil {
		return id, err
	}
	if secret == structs.ACLTokenAnonymousSecret {
		// Before the leader has created it, the anonymous token has no
		// policies.
		return &structs.ACLIdentity{Token: &structs.ACLToken{AccessorID: structs.ACLTokenAnonymousID,
			SecretID: secret, Description: structs.ACLTokenAnonymousDesc}}, nil
	}
	if s.raft != nil && !noForward && !s.IsLeader() {
		if leader := s.leaderAddr(); leader != "" {
			var out structs.ACLIdentity
			err := s.cfg.Pool.Call(ctx, leader, "ACLResolve", &structs.ACLResolveRequest{Secret: secret, NoForward: true}, &out)
			if err == nil && out.Token != nil {
				return &out, nil
			}
		}
	}
	if s.Store().ACLBootstrapIndex() == 0 {
		return nil, errNotBootstrapped
	}
	return nil, structs.ErrACLNotFound
}

// errNotBootstrapped is an unknown secret before the ACL bootstrap: no
// token but the anonymous one can exist yet.
var errNotBootstrapped = fmt.Errorf("ACL system must be bootstrapped before making any requests that require authorization: %w", structs.ErrACLNotFound)

// ACLResolve tells an agent what a secret grants, for the agent's own
// checks (its local endpoints) and cache.
func (s *Server) ACLResolve(ctx context.Context, args *structs.ACLResolveRequest) (*structs.ACLIdentity, error) {
	if !s.acl.Enabled() {
		return nil, structs.ErrACLDisabled
	}
	if err := s.checkDC(args.Datacenter); err != nil {
		return nil, err
	}
	return s.aclIdentity(ctx, args.Secret, args.NoForward)
}

// keep returns the elements of list for which ok holds, in a new slice
// when some are left out (rows are shared with the store), and whether any
// were.
func keep[T any](list []T, ok func(T) bool) ([]T, bool) {
	for i, v := range list {
		if ok(v) {
			continue
		}
		out := append(make([]T, 0, len(list)-1), list[:i]...)
		for _, w := range list[i+1:] {
			if ok(w) {
				out = append(out, w)
			}
		}
		return out, true
	}
	return list, false
}

// hiddenResult marks a read of one thing the token may not see: an empty
// answer whose index never moves, so a blocking query learns nothing from
// it, not even when the thing changes.
func hiddenResult(meta *structs.QueryMeta) {
	meta.Index = 1
	meta.ResultsFilteredByACLs = true
}

// authorizeRegister checks a catalog registration: node:write to create or
// change the node, service:write on the service (and on the name it had),
// and for each check service:write on its service or node:write.
func (s *Server) authorizeRegister(ctx context.Context, args *structs.RegisterRequest) error {
	authz, err := s.authorize(ctx, args.Token)
	if err != nil || authz.IsManagement() {
		return err
	}
	st := s.Store()
	_, node, svcs, err := st.NodeServices(nil, args.Node)
	if err != nil {
		return err
	}
	if node == nil || !args.SkipNodeUpdate {
		if err := authz.Write(acl.Node, args.Node); err != nil {
			return err
		}
	}
	names := map[string]string{} // service ID -> name
	for _, sv := range svcs {
		names[sv.ID] = sv.Service
	}
	if sv := args.Service; sv != nil {
		if err := authz.Write(acl.Service, sv.Service); err != nil {
			return err
		}
		if old, ok := names[sv.ID]; ok && old != sv.Service {
			if err := authz.Write(acl.Service, old); err != nil {
				return err
			}
		}
		names[sv.ID] = sv.Service
	}
	checks := args.Checks
	if args.Check != nil {
		checks = append([]*structs.HealthCheck{args.Check}, checks...)
	}
	for _, c := range checks {
		if err := s.authorizeCheckWrite(authz, args.Node, names[c.ServiceID], c.ServiceID); err != nil {
			return err
		}
	}
	return nil
}

// authorizeCheckWrite allows a write of a check: service:write on the
// service it belongs to, node:write for a node check.
func (s *Server) authorizeCheckWrite(authz *acl.Authorizer, node, svcName, svcID string) error {
	if svcID != "" && svcName != "" {
		return authz.Write(acl.Service, svcName)
	}
	return authz.Write(acl.Node, node)
}

// authorizeDeregister checks a catalog deregistration: node:write for a
// node, service:write for a service, and for a check as for its write.
func (s *Server) authorizeDeregister(ctx context.Context, args *structs.DeregisterRequest) error {
	authz, err := s.authorize(ctx, args.Token)
	if err != nil || authz.IsManagement() {
		return err
	}
	st := s.Store()
	switch {
	case args.ServiceID != "":
		_, _, svcs, err := st.NodeServices(nil, args.Node)
		if err != nil {
			return err
		}
		for _, sv := range svcs {
			if sv.ID == args.ServiceID {
				return authz.Write(acl.Service, sv.Service)
			}
		}
		return authz.Write(acl.Node, args.Node)
	case args.CheckID != "":
		_, checks, err := st.NodeChecks(nil, args.Node)
		if err != nil {
			return err
		}
		for _, c := range checks {
			if c.CheckID == args.CheckID {
				return s.authorizeCheckWrite(authz, args.Node, c.ServiceName, c.ServiceID)
			}
		}
	}
	return authz.Write(acl.Node, args.Node)
}
