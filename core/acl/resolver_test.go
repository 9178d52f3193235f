package acl

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// fakeServers answers for one token and can be taken down.
type fakeServers struct {
	down  atomic.Bool
	calls atomic.Int64
}

var errUnreachable = errors.New("no servers")

func (f *fakeServers) source(ctx context.Context, secret string) (*structs.ACLIdentity, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return nil, errUnreachable
	}
	if secret != "good" {
		return nil, structs.ErrACLNotFound
	}
	return &structs.ACLIdentity{
		Token:    &structs.ACLToken{AccessorID: "acc", SecretID: "good", Policies: []structs.ACLLink{{ID: "p"}}},
		Policies: []*structs.ACLPolicy{{ID: "p", Rules: `key_prefix "app/" { policy = "write" }`, RaftIndex: structs.RaftIndex{ModifyIndex: 3}}},
	}, nil
}

func TestResolverDownPolicies(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		policy         string
		cachedWrites   bool // a token resolved before the outage keeps its rights
		uncachedAllows bool // a token never seen gets allow-all
	}{
		{DownExtendCache, true, false},
		{DownAsyncCache, true, false},
		{DownDeny, false, false},
		{DownAllow, false, true},
	} {
		t.Run(c.policy, func(t *testing.T) {
			f := &fakeServers{}
			r := NewResolver(Config{Enabled: true, DefaultPolicy: PolicyDeny, DownPolicy: c.policy, TokenTTL: time.Minute}, f.source)
			now := time.Now()
			r.now = func() time.Time { return now }
			a, err := r.Resolve(ctx, "good")
			if err != nil || !a.Allowed(Key, "app/x", Write) {
				t.Fatalf("resolve: %v", err)
			}
			if _, err := r.Resolve(ctx, "bad"); !errors.Is(err, structs.ErrACLNotFound) {
				t.Fatalf("unknown secret: %v", err)
			}
			calls := f.calls.Load()
			r.Resolve(ctx, "good")
			if f.calls.Load() != calls {
				t.Fatal("a fresh cached token was fetched again")
			}
			f.down.Store(true)
			now = now.Add(2 * time.Minute)
			a, err = r.Resolve(ctx, "good")
			switch {
			case c.cachedWrites || c.policy == DownAllow:
				if err != nil || !a.Allowed(Key, "app/x", Write) {
					t.Errorf("cached token while down: %v, want its rights", err)
				}
			case !errors.Is(err, errUnreachable):
				t.Errorf("cached token while down, policy %s: %v, %v; want the cause", c.policy, a, err)
			}
			a, err = r.Resolve(ctx, "never-seen")
			if c.uncachedAllows {
				if err != nil || !a.Allowed(Key, "x", Read) {
					t.Errorf("uncached token while down: %v, want allowed", err)
				}
				return
			}
			// Not the anonymous token's rights, nor a denial: the cause.
			var ue *UnresolvedError
			if a != nil || !errors.As(err, &ue) || !errors.Is(err, errUnreachable) ||
				errors.Is(err, structs.ErrPermissionDenied) || errors.Is(err, structs.ErrACLNotFound) ||
				!strings.HasPrefix(err.Error(), errUnreachable.Error()+": ") {
				t.Errorf("uncached token while down: %v, %v; want the cause", a, err)
			}
		})
	}
}

func TestResolverDisabledAllowsEverything(t *testing.T) {
	r := NewResolver(Config{}, nil)
	a, err := r.Resolve(context.Background(), "whatever")
	if err != nil || a != nil || !a.Allowed(ACL, "", Write) {
		t.Fatal("disabled ACLs must resolve to nil")
	}
}

func TestResolverExpiredToken(t *testing.T) {
	past := time.Now().Add(-time.Second)
	r := NewResolver(Config{Enabled: true}, func(context.Context, string) (*structs.ACLIdentity, error) {
		return &structs.ACLIdentity{Token: &structs.ACLToken{AccessorID: "a", ExpirationTime: &past}}, nil
	})
	if _, err := r.Resolve(context.Background(), "x"); !errors.Is(err, structs.ErrACLNotFound) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestManagementPolicy(t *testing.T) {
	var c PolicyCache
	a, err := c.Compile(&structs.ACLIdentity{
		Token:    &structs.ACLToken{AccessorID: "m"},
		Policies: []*structs.ACLPolicy{{ID: structs.ACLPolicyGlobalManagementID}},
	}, "dc1", PolicyDeny)
	if err != nil || !a.IsManagement() || !a.Allowed(ACL, "", Write) {
		t.Fatal("global-management must grant everything")
	}
	a, _ = c.Compile(&structs.ACLIdentity{
		Token:    &structs.ACLToken{AccessorID: "o"},
		Policies: []*structs.ACLPolicy{{ID: "x", Rules: `key "k" { policy = "write" }`, Datacenters: []string{"dc2"}}},
	}, "dc1", PolicyDeny)
	if a.Allowed(Key, "k", Read) {
		t.Fatal("a policy for another datacenter applied")
	}
}
