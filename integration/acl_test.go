package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// clientWithToken is an API client of agent a that sends token.
func clientWithToken(a *agent, token string) *api.Client {
	cfg := api.DefaultNonPooledConfig()
	cfg.Address = fmt.Sprintf("127.0.0.1:%d", a.http)
	cfg.Token = token
	c, _ := api.NewClient(cfg)
	return c
}

// get is a GET on agent a with a token; it returns the status code.
func get(t *testing.T, a *agent, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", a.http, path), nil)
	req.Header.Set("X-Consul-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// Three servers and a client with ACLs on (default deny): the cluster is
// bootstrapped once through the client, ACL state reaches every server,
// and the client agent keeps serving a token it resolved while every
// server is gone (down_policy extend-cache), but not one it never saw:
// that one is refused with the cause.
func TestACLClusterReplicationAndClientCache(t *testing.T) {
	c := newCluster(t, 3, 1, map[string]interface{}{
		"acl": map[string]interface{}{
			"enabled": true, "default_policy": "deny", "down_policy": "extend-cache", "token_ttl": "1s",
			"tokens": map[string]interface{}{"agent_recovery": "recovery"},
		},
	})
	// The recovery token lets the harness see members on every agent.
	for _, a := range c.agents {
		a.client = clientWithToken(a, "recovery")
	}
	c.ready(30 * time.Second)
	c1 := c.clients()[0]

	var boot *api.ACLToken
	waitfor.Until(t, 10*time.Second, "bootstrap through the client", func() bool {
		var err error
		boot, _, err = c1.client.ACL().Bootstrap()
		return err == nil
	})
	for _, s := range c.servers() {
		_, _, err := s.client.ACL().Bootstrap()
		if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "ACL bootstrap no longer allowed (reset index: ") {
			t.Fatalf("second bootstrap on %s: %v", s.name, err)
		}
	}

	root := clientWithToken(c1, boot.SecretID)
	pol, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "app",
		Rules: `agent_prefix "" { policy = "read" }` + "\n" + `key_prefix "app/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := root.ACL().TokenCreate(&api.ACLToken{Description: "app", Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	unused, _, err := root.ACL().TokenCreate(&api.ACLToken{Description: "never used on c1", Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Every server has the token in its own store (a stale read is
	// answered locally) and enforces it.
	for _, s := range c.servers() {
		waitfor.Until(t, 10*time.Second, s.name+" to have the token", func() bool {
			tok, _, err := clientWithToken(s, boot.SecretID).ACL().TokenRead(app.AccessorID, &api.QueryOptions{AllowStale: true})
			return err == nil && tok.SecretID == app.SecretID
		})
		kv := clientWithToken(s, app.SecretID).KV()
		if _, err := kv.Put(&api.KVPair{Key: "app/" + s.name, Value: []byte("1")}, nil); err != nil {
			t.Fatalf("allowed write through %s: %v", s.name, err)
		}
		if _, err := kv.Put(&api.KVPair{Key: "other/" + s.name, Value: []byte("1")}, nil); err == nil || !strings.Contains(err.Error(), "Permission denied") {
			t.Fatalf("denied write through %s: %v", s.name, err)
		}
	}

	// The client agent resolves tokens for its own endpoints.
	if code, body := get(t, c1, "/v1/agent/self", app.SecretID); code != 200 {
		t.Fatalf("agent/self with the app token: %d %s", code, body)
	}
	if code, body := get(t, c1, "/v1/agent/self", ""); code != 403 || !strings.HasPrefix(body, "Permission denied") {
		t.Fatalf("agent/self anonymous: %d %s", code, body)
	}
	if code, body := get(t, c1, "/v1/agent/self", "no-such-token"); code != 403 || body != "ACL not found" {
		t.Fatalf("agent/self with an unknown token: %d %s", code, body)
	}

	for _, s := range c.servers() {
		s.kill()
	}
	time.Sleep(2 * time.Second) // past token_ttl: the cache entry is stale now
	if code, body := get(t, c1, "/v1/agent/self", app.SecretID); code != 200 {
		t.Fatalf("cached token with every server gone: %d %s", code, body)
	}
	// A token no server can resolve is refused with the cause, not
	// judged as the anonymous token.
	if code, body := get(t, c1, "/v1/agent/self", unused.SecretID); code != 500 ||
		!strings.Contains(body, "could not be resolved") || strings.Contains(body, "anonymous") {
		t.Fatalf("uncached token with every server gone: %d %s", code, body)
	}
	if _, err := clientWithToken(c1, app.SecretID).KV().Put(&api.KVPair{Key: "app/x"}, nil); err == nil {
		t.Fatal("a write succeeded with every server gone")
	}
}
