package server

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/authmethod"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// validMethodName is Consul's rule for auth method names.
var validMethodName = regexp.MustCompile(`^[A-Za-z0-9\-_]{1,128}$`)

// The bounds of an auth method's MaxTokenTTL, Consul's defaults for token
// expiration.
const (
	minTokenTTL = time.Minute
	maxTokenTTL = 24 * time.Hour
)

// ACLAuthMethodSet creates or updates an auth method, checking its type
// and configuration.
func (s *Server) ACLAuthMethodSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLAuthMethod, error) {
	var out structs.ACLAuthMethod
	_, done, err := s.aclWriteStart(ctx, "ACLAuthMethodSet", args, &out)
	if done {
		return &out, err
	}
	if args.ACLAuthMethod == nil {
		return nil, structs.BadInput("missing auth method")
	}
	m := *args.ACLAuthMethod
	switch {
	case m.Name == "":
		return nil, structs.BadInput("Invalid Auth Method: no Name is set")
	case !validMethodName.MatchString(m.Name):
		return nil, structs.BadInput("Invalid Auth Method: invalid Name %q. Only alphanumeric characters, '-' and '_' are allowed", m.Name)
	}
	_, old, err := s.Store().ACLAuthMethodGet(nil, m.Name)
	if err != nil {
		return nil, err
	}
	if old != nil {
		if m.Type == "" {
			m.Type = old.Type
		} else if m.Type != old.Type {
			return nil, structs.BadInput("the Type field of an Auth Method is immutable (it is %q)", old.Type)
		}
	}
	if ttl := time.Duration(m.MaxTokenTTL); ttl != 0 && (ttl < minTokenTTL || ttl > maxTokenTTL) {
		return nil, structs.BadInput("MaxTokenTTL %s must be between %s and %s", ttl, minTokenTTL, maxTokenTTL)
	}
	switch m.TokenLocality {
	case "", "local", "global":
	default:
		return nil, structs.BadInput("Invalid Auth Method: TokenLocality should be one of 'local' or 'global'")
	}
	if _, err := authmethod.New(&m); err != nil {
		return nil, structs.BadInput("Invalid Auth Method: %v", err)
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLMethodSet, ACLAuthMethod: &m, WriteRequest: args.WriteRequest}); err != nil {
		return nil, err
	}
	_, saved, err := s.Store().ACLAuthMethodGet(nil, m.Name)
	return saved, err
}

// ACLAuthMethodDelete deletes an auth method (args.ID is its name), its
// binding rules and the tokens its logins made. One that does not exist
// is ErrACLNotFound.
func (s *Server) ACLAuthMethodDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	var ok bool
	_, done, err := s.aclWriteStart(ctx, "ACLAuthMethodDelete", args, &ok)
	if done {
		return ok, err
	}
	if _, m, err := s.Store().ACLAuthMethodGet(nil, args.ID); err != nil {
		return false, err
	} else if m == nil {
		return false, structs.ErrACLNotFound
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLMethodDelete, ID: args.ID, WriteRequest: args.WriteRequest}); err != nil {
		return false, err
	}
	return true, nil
}

// ACLAuthMethodGet reads an auth method by name; none is an empty list.
func (s *Server) ACLAuthMethodGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLAuthMethods) error {
	return aclRead(s, ctx, "ACLAuthMethodGet", &args.QueryOptions, args.Datacenter, args, reply, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) (uint64, error) {
			idx, m, err := st.ACLAuthMethodGet(ws, args.Name)
			reply.AuthMethods = nil
			if m != nil {
				reply.AuthMethods = []*structs.ACLAuthMethod{m}
			}
			return idx, err
		})
}

// ACLAuthMethodList lists auth methods.
func (s *Server) ACLAuthMethodList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLAuthMethods) error {
	return aclRead(s, ctx, "ACLAuthMethodList", &args.QueryOptions, args.Datacenter, args, reply, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) (uint64, error) {
			idx, list, err := st.ACLAuthMethodList(ws)
			reply.AuthMethods = list
			return idx, err
		})
}

// ACLBindingRuleSet creates (no ID) or updates a binding rule, checking
// its selector and bind name against its auth method.
func (s *Server) ACLBindingRuleSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLBindingRule, error) {
	var out structs.ACLBindingRule
	_, done, err := s.aclWriteStart(ctx, "ACLBindingRuleSet", args, &out)
	if done {
		return &out, err
	}
	if args.ACLBindingRule == nil {
		return nil, structs.BadInput("missing binding rule")
	}
	r := *args.ACLBindingRule
	st := s.Store()
	if r.ID == "" {
		r.ID = structs.GenerateUUID()
	} else {
		if !validUUID.MatchString(r.ID) {
			return nil, structs.BadInput("Binding Rule ID invalid UUID: %q", r.ID)
		}
		_, old, err := st.ACLBindingRuleGet(nil, r.ID)
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, structs.BadInput("cannot find binding rule %s", r.ID)
		}
		if r.AuthMethod == "" {
			r.AuthMethod = old.AuthMethod
		} else if r.AuthMethod != old.AuthMethod {
			return nil, structs.BadInput("the AuthMethod field of a Binding Rule is immutable (it is %q)", old.AuthMethod)
		}
	}
	if r.AuthMethod == "" {
		return nil, structs.BadInput("Invalid Binding Rule: no AuthMethod is set")
	}
	_, m, err := st.ACLAuthMethodGet(nil, r.AuthMethod)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, structs.BadInput("cannot find auth method with name %q", r.AuthMethod)
	}
	v, err := authmethod.New(m)
	if err != nil {
		return nil, fmt.Errorf("auth method %q cannot be used: %v", m.Name, err)
	}
	blank := v.Blank()
	if err := authmethod.CheckSelector(r.Selector, blank); err != nil {
		return nil, structs.BadInput("Invalid Binding Rule: Selector is invalid: %v", err)
	}
	switch {
	case r.BindType == "":
		return nil, structs.BadInput("Invalid Binding Rule: no BindType is set")
	case r.BindName == "":
		return nil, structs.BadInput("Invalid Binding Rule: no BindName is set")
	case r.BindType != structs.BindTypeTemplatedPolicy && r.BindVars != nil:
		return nil, structs.BadInput("Invalid Binding Rule: BindVars cannot be set when bind type is not templated-policy.")
	}
	fake := map[string]string{}
	for k := range blank.Vars() {
		fake[k] = "fake"
	}
	if err := bind(&structs.ACLToken{}, &r, fake, s.cfg.Datacenter, nil); err != nil {
		return nil, structs.BadInput("Invalid Binding Rule: invalid BindName or BindVars: %v", err)
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLRuleSet, ACLBindingRule: &r, WriteRequest: args.WriteRequest}); err != nil {
		return nil, err
	}
	_, saved, err := s.Store().ACLBindingRuleGet(nil, r.ID)
	return saved, err
}

// ACLBindingRuleDelete deletes a binding rule. One that does not exist is
// ErrACLNotFound.
func (s *Server) ACLBindingRuleDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	var ok bool
	_, done, err := s.aclWriteStart(ctx, "ACLBindingRuleDelete", args, &ok)
	if done {
		return ok, err
	}
	if _, r, err := s.Store().ACLBindingRuleGet(nil, args.ID); err != nil {
		return false, err
	} else if r == nil {
		return false, structs.ErrACLNotFound
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLRuleDelete, ID: args.ID, WriteRequest: args.WriteRequest}); err != nil {
		return false, err
	}
	return true, nil
}

// ACLBindingRuleGet reads a binding rule by ID; none is an empty list.
func (s *Server) ACLBindingRuleGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLBindingRules) error {
	return aclRead(s, ctx, "ACLBindingRuleGet", &args.QueryOptions, args.Datacenter, args, reply, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) (uint64, error) {
			idx, r, err := st.ACLBindingRuleGet(ws, args.ID)
			reply.BindingRules = nil
			if r != nil {
				reply.BindingRules = []*structs.ACLBindingRule{r}
			}
			return idx, err
		})
}

// ACLBindingRuleList lists binding rules, or those of one auth method.
func (s *Server) ACLBindingRuleList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLBindingRules) error {
	return aclRead(s, ctx, "ACLBindingRuleList", &args.QueryOptions, args.Datacenter, args, reply, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) (uint64, error) {
			idx, list, err := st.ACLBindingRuleList(ws, args.AuthMethod)
			reply.BindingRules = list
			return idx, err
		})
}
