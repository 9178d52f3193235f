package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/authmethod"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// loginDesc is the description of the tokens logins make.
const loginDesc = "token created via login"

// ACLLogin checks a bearer token with an auth method and makes a token
// with what the method's binding rules grant the proven identity. It needs
// no ACL token: the bearer token is the credential.
func (s *Server) ACLLogin(ctx context.Context, args *structs.ACLLoginRequest) (*structs.ACLToken, error) {
	if err := s.aclCheck(args.Datacenter); err != nil {
		return nil, err
	}
	var out structs.ACLToken
	if done, err := s.forward(ctx, "ACLLogin", nil, args, &out); done {
		return &out, err
	}
	if args.AuthMethod == "" {
		return nil, structs.BadInput("Invalid Login request: missing AuthMethod")
	}
	st := s.Store()
	_, m, err := st.ACLAuthMethodGet(nil, args.AuthMethod)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("%w: auth method %q not found", structs.ErrACLNotFound, args.AuthMethod)
	}
	v, err := authmethod.New(m)
	if err != nil {
		return nil, fmt.Errorf("auth method %q cannot be used: %v", m.Name, err)
	}
	id, err := v.Validate(ctx, args.BearerToken)
	var le *authmethod.LoginError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%w: auth method %q did not accept the bearer token: %s", structs.ErrPermissionDenied, m.Name, le.Reason)
	}
	if err != nil {
		return nil, err
	}
	desc := loginDesc
	if len(args.Meta) > 0 {
		b, _ := json.Marshal(args.Meta)
		desc += ": " + string(b)
	}
	tok := &structs.ACLToken{AccessorID: structs.GenerateUUID(), SecretID: structs.GenerateUUID(), Description: desc,
		Local: m.TokenLocality != "global", AuthMethod: m.Name, CreateTime: time.Now().UTC()}
	if ttl := time.Duration(m.MaxTokenTTL); ttl > 0 {
		exp := tok.CreateTime.Add(ttl)
		tok.ExpirationTime = &exp
	}
	_, rules, err := st.ACLBindingRuleList(nil, m.Name)
	if err != nil {
		return nil, err
	}
	vars := id.Vars()
	for _, r := range rules {
		if !authmethod.Matches(r.Selector, id) {
			continue
		}
		if err := bind(tok, r, vars, s.cfg.Datacenter, st); err != nil {
			return nil, fmt.Errorf("%w: binding rule %s of auth method %q cannot be applied to this login: %v", structs.ErrPermissionDenied, r.ID, m.Name, err)
		}
	}
	if tok.ServiceIdentities, tok.NodeIdentities, tok.TemplatedPolicies, err =
		checkIdentities("token", tok.ServiceIdentities, tok.NodeIdentities, tok.TemplatedPolicies); err != nil {
		return nil, err
	}
	if len(tok.Policies)+len(tok.Roles)+len(tok.ServiceIdentities)+len(tok.NodeIdentities)+len(tok.TemplatedPolicies) == 0 {
		return nil, fmt.Errorf("%w: no binding rule of auth method %q grants anything to this login", structs.ErrPermissionDenied, m.Name)
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLTokenSet, ACLToken: tok, CreateOnly: true, WriteRequest: args.WriteRequest}); err != nil {
		return nil, err
	}
	s.logger.Info("login", "auth_method", m.Name, "accessor", tok.AccessorID)
	_, saved, err := s.Store().ACLTokenByAccessor(nil, tok.AccessorID)
	return saved, err
}

// bind adds to tok what rule r grants a login whose variables are vars.
// With st nil it only checks that the rule can be applied (a role or
// policy it names need not exist yet); with a store, a role or policy
// that does not exist grants nothing.
func bind(tok *structs.ACLToken, r *structs.ACLBindingRule, vars map[string]string, dc string, st *state.Store) error {
	name := func() (string, error) {
		n, err := authmethod.Interpolate(r.BindName, vars)
		if err != nil {
			return "", fmt.Errorf("error interpreting template: %v", err)
		}
		return n, nil
	}
	switch r.BindType {
	case structs.BindTypeService, structs.BindTypeNode:
		n, err := name()
		if err != nil {
			return err
		}
		if !acl.IdentityName.MatchString(n) {
			return fmt.Errorf("invalid bind name: %q", n)
		}
		if r.BindType == structs.BindTypeService {
			tok.ServiceIdentities = append(tok.ServiceIdentities, &structs.ACLServiceIdentity{ServiceName: n})
		} else {
			tok.NodeIdentities = append(tok.NodeIdentities, &structs.ACLNodeIdentity{NodeName: n, Datacenter: dc})
		}
	case structs.BindTypeRole:
		n, err := name()
		if err != nil {
			return err
		}
		if !validRoleName.MatchString(n) {
			return fmt.Errorf("invalid bind name: %q", n)
		}
		if st != nil {
			if _, role, err := st.ACLRoleGet(nil, "", n); err != nil {
				return err
			} else if role != nil {
				tok.Roles = append(tok.Roles, structs.ACLLink{ID: role.ID, Name: role.Name})
			}
		}
	case structs.BindTypePolicy:
		n, err := name()
		if err != nil {
			return err
		}
		if !validPolicyName.MatchString(n) {
			return fmt.Errorf("invalid bind name: %q", n)
		}
		if st != nil {
			if _, p, err := st.ACLPolicyGet(nil, "", n); err != nil {
				return err
			} else if p != nil {
				tok.Policies = append(tok.Policies, structs.ACLLink{ID: p.ID, Name: p.Name})
			}
		}
	case structs.BindTypeTemplatedPolicy:
		t, ok := acl.LookupTemplate(r.BindName)
		if !ok {
			return fmt.Errorf("bind name for templated-policy bind type does not match an existing template name: %s (there are %v)", r.BindName, acl.TemplateNames())
		}
		tp := &structs.ACLTemplatedPolicy{TemplateName: t.Name}
		if r.BindVars != nil {
			n, err := authmethod.Interpolate(r.BindVars.Name, vars)
			if err != nil {
				return fmt.Errorf("failed to interpret templated policy variables: %v", err)
			}
			tp.TemplateVariables = &structs.ACLTemplatedPolicyVariables{Name: n}
		}
		if err := t.CheckVars(tp.TemplateVariables); err != nil {
			return fmt.Errorf("templated policy failed validation: %v", err)
		}
		tok.TemplatedPolicies = append(tok.TemplatedPolicies, tp)
	default:
		return fmt.Errorf("unknown BindType %q (want one of service, node, role, policy, templated-policy)", r.BindType)
	}
	return nil
}

// ACLLogout deletes the token a login made; args.Token is its secret.
func (s *Server) ACLLogout(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	if err := s.aclCheck(args.Datacenter); err != nil {
		return false, err
	}
	var ok bool
	if done, err := s.forward(ctx, "ACLLogout", nil, args, &ok); done {
		return ok, err
	}
	if args.Token == "" {
		return false, fmt.Errorf("no valid token ID provided: %w", structs.ErrACLNotFound)
	}
	_, tok, err := s.Store().ACLTokenBySecret(nil, args.Token)
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, structs.ErrACLNotFound
	}
	if tok.AuthMethod == "" {
		return false, fmt.Errorf("%w: token wasn't created via login", structs.ErrPermissionDenied)
	}
	if err := s.aclApply(&structs.ACLRequest{Op: structs.ACLTokenDelete, ID: tok.AccessorID, WriteRequest: args.WriteRequest}); err != nil {
		return false, err
	}
	s.acl.Purge()
	return true, nil
}
