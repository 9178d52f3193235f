package server

import (
	"context"
	"regexp"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// validRoleName is Consul's rule for role names.
var validRoleName = regexp.MustCompile(`^[A-Za-z0-9\-_]{1,256}$`)

// validUUID is the form of the IDs of roles and binding rules.
var validUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// linkRoles fills the ID and name of role links given by name or ID,
// without duplicates, and rejects links to roles that do not exist.
func linkRoles(st *state.Store, in []structs.ACLLink) ([]structs.ACLLink, error) {
	links := make([]structs.ACLLink, 0, len(in))
	seen := map[string]bool{}
	for _, l := range in {
		if l.ID == "" && l.Name == "" {
			return nil, structs.BadInput("a role link needs an ID or a Name")
		}
		_, r, err := st.ACLRoleGet(nil, l.ID, l.Name)
		if err != nil {
			return nil, err
		}
		if r == nil {
			if l.ID == "" {
				return nil, structs.BadInput("No such ACL role with name %q", l.Name)
			}
			return nil, structs.BadInput("No such ACL role with ID %q", l.ID)
		}
		if !seen[r.ID] {
			seen[r.ID] = true
			links = append(links, structs.ACLLink{ID: r.ID, Name: r.Name})
		}
	}
	if len(links) == 0 {
		return nil, nil
	}
	return links, nil
}

// checkIdentities checks the service identities, node identities and
// templated policies of a token or role (owner says which) and returns
// them without duplicates.
func checkIdentities(owner string, svcs []*structs.ACLServiceIdentity, nodes []*structs.ACLNodeIdentity, tps []*structs.ACLTemplatedPolicy) (
	[]*structs.ACLServiceIdentity, []*structs.ACLNodeIdentity, []*structs.ACLTemplatedPolicy, error) {
	var outS []*structs.ACLServiceIdentity
	seenS := map[string]int{}
	for _, si := range svcs {
		switch {
		case si == nil || si.ServiceName == "":
			return nil, nil, nil, structs.BadInput("Service identity is missing the service name field on this %s", owner)
		case !acl.IdentityName.MatchString(si.ServiceName):
			return nil, nil, nil, structs.BadInput("Service identity %q has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed", si.ServiceName)
		}
		if i, ok := seenS[si.ServiceName]; ok {
			// The same service twice: the union of its datacenters, or
			// all of them if either has none.
			if len(outS[i].Datacenters) > 0 && len(si.Datacenters) > 0 {
				outS[i].Datacenters = union(outS[i].Datacenters, si.Datacenters)
			} else {
				outS[i].Datacenters = nil
			}
			continue
		}
		seenS[si.ServiceName] = len(outS)
		c := *si
		outS = append(outS, &c)
	}
	var outN []*structs.ACLNodeIdentity
	seenN := map[structs.ACLNodeIdentity]bool{}
	for _, ni := range nodes {
		switch {
		case ni == nil || ni.NodeName == "":
			return nil, nil, nil, structs.BadInput("Node identity is missing the node name field on this %s", owner)
		case ni.Datacenter == "":
			return nil, nil, nil, structs.BadInput("Node identity is missing the datacenter field on this %s", owner)
		case !acl.IdentityName.MatchString(ni.NodeName):
			return nil, nil, nil, structs.BadInput("Node identity %q has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed", ni.NodeName)
		}
		if !seenN[*ni] {
			seenN[*ni] = true
			c := *ni
			outN = append(outN, &c)
		}
	}
	var outT []*structs.ACLTemplatedPolicy
	seenT := map[[2]string]bool{}
	for _, tp := range tps {
		if tp == nil || tp.TemplateName == "" {
			return nil, nil, nil, structs.BadInput("templated policy is missing the template name field on this %s", owner)
		}
		t, ok := acl.LookupTemplate(tp.TemplateName)
		if !ok {
			return nil, nil, nil, structs.BadInput("no such ACL templated policy with Name %q (there are %v)", tp.TemplateName, acl.TemplateNames())
		}
		if err := t.CheckVars(tp.TemplateVariables); err != nil {
			return nil, nil, nil, structs.BadInput("validation error for templated policy %q: %v", tp.TemplateName, err)
		}
		key := [2]string{tp.TemplateName, tp.VarName()}
		if t.Names == nil {
			key[1] = ""
		}
		if !seenT[key] {
			seenT[key] = true
			c := *tp
			if t.Names == nil {
				c.TemplateVariables = nil
			}
			outT = append(outT, &c)
		}
	}
	return outS, outN, outT, nil
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		found := false
		for _, y := range out {
			found = found || x == y
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// ACLRoleSet creates (no ID) or updates a role; policies may be linked
// by name or ID.
func (s *Server) ACLRoleSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLRole, error) {
	var out structs.ACLRole
	_, done, err := s.aclWriteStart(ctx, "ACLRoleSet", args, &out)
	if done {
		return &out, err
	}
	if args.ACLRole == nil {
		return nil, structs.BadInput("missing role")
	}
	r := *args.ACLRole
	switch {
	case r.Name == "":
		return nil, structs.BadInput("Invalid Role: no Name is set")
	case !validRoleName.MatchString(r.Name):
		return nil, structs.BadInput("Invalid Role: invalid Name %q. Only alphanumeric characters, '-' and '_' are allowed", r.Name)
	}
	st := s.Store()
	_, named, err := st.ACLRoleGet(nil, "", r.Name)
	if err != nil {
		return nil, err
	}
	if r.ID == "" {
		r.ID = structs.GenerateUUID()
		if named != nil {
			return nil, structs.BadInput("Invalid Role: A Role with Name %q already exists", r.Name)
		}
	} else {
		if !validUUID.MatchString(r.ID) {
			return nil, structs.BadInput("Role ID invalid UUID: %q", r.ID)
		}
		_, old, err := st.ACLRoleGet(nil, r.ID, "")
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, structs.BadInput("cannot find role %s", r.ID)
		}
		if named != nil && named.ID != r.ID {
			return nil, structs.BadInput("Invalid Role: A role with name %q already exists", r.Name)
		}
	}
	if r.Policies, err = linkPolicies(st, r.Policies); err != nil {
		return nil, err
	}
	if len(r.Policies) == 0 {
		r.Policies = nil
	}
	if r.ServiceIdentities, r.NodeIdentities, r.TemplatedPolicies, err =
		checkIdentities("role", r.ServiceIdentities, r.NodeIdentities, r.TemplatedPolicies); err != nil {
		return nil, err
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLRoleSet, ACLRole: &r, WriteRequest: args.WriteRequest}); err != nil {
		return nil, err
	}
	_, saved, err := s.Store().ACLRoleGet(nil, r.ID, "")
	return saved, err
}

// ACLRoleDelete deletes a role; tokens lose their link to it. A role that
// does not exist is ErrACLNotFound.
func (s *Server) ACLRoleDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	var ok bool
	_, done, err := s.aclWriteStart(ctx, "ACLRoleDelete", args, &ok)
	if done {
		return ok, err
	}
	if _, r, err := s.Store().ACLRoleGet(nil, args.ID, ""); err != nil {
		return false, err
	} else if r == nil {
		return false, structs.ErrACLNotFound
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLRoleDelete, ID: args.ID, WriteRequest: args.WriteRequest}); err != nil {
		return false, err
	}
	return true, nil
}

// ACLRoleGet reads a role by ID or by name; none is an empty list.
func (s *Server) ACLRoleGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLRoles) error {
	return aclRead(s, ctx, "ACLRoleGet", &args.QueryOptions, args.Datacenter, args, reply, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) (uint64, error) {
			idx, r, err := st.ACLRoleGet(ws, args.ID, args.Name)
			reply.Roles = nil
			if r != nil {
				reply.Roles = []*structs.ACLRole{r}
			}
			return idx, err
		})
}

// ACLRoleList lists roles, or those linking to one policy.
func (s *Server) ACLRoleList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLRoles) error {
	return aclRead(s, ctx, "ACLRoleList", &args.QueryOptions, args.Datacenter, args, reply, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) (uint64, error) {
			idx, list, err := st.ACLRoleList(ws, args.Policy)
			reply.Roles = list
			return idx, err
		})
}

// aclRead is the frame of the ACL reads that need acl:read: ACLs on, the
// right datacenter, forwarded as reads are, then a blocking query.
func aclRead(s *Server, ctx context.Context, method string, q *structs.QueryOptions, dc string, args, reply interface{}, meta *structs.QueryMeta,
	read func(memdb.WatchSet, *state.Store) (uint64, error)) error {
	if err := s.aclCheck(dc); err != nil {
		return err
	}
	if done, err := s.forward(ctx, method, q, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, q.Token)
	if err != nil {
		return err
	}
	if err := authz.Read(acl.ACL, ""); err != nil {
		return err
	}
	return s.blockingQuery(ctx, q, meta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, err := read(ws, st)
		meta.Index = idx
		return err
	})
}
