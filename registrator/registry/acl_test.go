package registry

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/registrator/service"
)

// A token that may write services and nothing else is enough, as it is
// for Registrator with Consul: the agent's self-description is out of its
// reach, so Ping settles for the agent's status.
func TestServiceWriteTokenIsEnough(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`acl {
  enabled = true
  default_policy = "deny"
  tokens { initial_management = "root"  agent = "root" }
}`))
	cfg := api.DefaultNonPooledConfig()
	cfg.Address, cfg.Token = a.HTTPAddr, "root"
	root, _ := api.NewClient(cfg)
	pol, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "registrator", Rules: `service_prefix "" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(api.HTTPTokenEnvName, tok.SecretID)
	ctx := context.Background()
	r, err := New("consul://"+a.HTTPAddr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("ping with a service:write token: %v", err)
	}
	s := &service.Service{ID: "h:web:80", Name: "web", Port: 8080,
		Meta: map[string]string{service.MetaHost: "h", service.MetaContainer: "c1"}}
	if err := r.Register(ctx, s); err != nil {
		t.Fatalf("register with a service:write token: %v", err)
	}
	if got, err := r.Services(ctx, "h"); err != nil || len(got) != 1 {
		t.Fatalf("services with a service:write token: %v %v", got, err)
	}
	kv, err := New("consulkv://"+a.HTTPAddr+"/services", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Ping(ctx); err != nil {
		t.Fatalf("consulkv ping without agent:read: %v", err)
	}

	// A token the agent does not know is still refused.
	t.Setenv(api.HTTPTokenEnvName, "no-such-token")
	r, _ = New("consul://"+a.HTTPAddr, Options{})
	if err := r.Ping(ctx); err == nil || !strings.Contains(err.Error(), "ACL not found") {
		t.Fatalf("ping with an unknown token: %v", err)
	}
}
