package http_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/testagent"
)

func TestACLFilteredHeaderAndUnknownSecret(t *testing.T) {
	w := newACLWorld(t)
	resp, err := http.DefaultClient.Do(mustReq(t, "GET", w.a.URL("/v1/kv/?recurse&token="+w.kvApp), ""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "true" {
		t.Fatal("a filtered list lacks X-Consul-Results-Filtered-By-ACLs")
	}
	for _, how := range []func(*http.Request){
		func(r *http.Request) { r.Header.Set("X-Consul-Token", "nope") },
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") },
		func(r *http.Request) { r.URL.RawQuery = "token=nope" },
	} {
		req := mustReq(t, "GET", w.a.URL("/v1/catalog/nodes"), "")
		how(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("unknown secret: %d", resp.StatusCode)
		}
	}
	req := mustReq(t, "GET", w.a.URL("/v1/kv/secret/x"), "")
	req.Header.Set("Authorization", "Bearer "+w.readOnly)
	if resp, _ := http.DefaultClient.Do(req); resp == nil || resp.StatusCode != 200 {
		t.Fatal("bearer token not honoured")
	}
}

// TestACLBlockingQueriesDoNotLeak checks that a blocking read shows
// nothing of what its token cannot read: changes to hidden keys neither
// wake it nor move its index, and a hidden service answers an index that
// never moves.
func TestACLBlockingQueriesDoNotLeak(t *testing.T) {
	w := newACLWorld(t)
	kv := tokenClient(t, w.a, w.kvApp).KV()
	mkv := w.managementAccount.KV()
	_, meta, err := kv.List("", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan uint64, 1)
	go func() {
		_, m, err := kv.List("", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 2 * time.Second})
		if err != nil {
			done <- 0
			return
		}
		done <- m.LastIndex
	}()
	time.Sleep(100 * time.Millisecond)
	mkv.Put(&api.KVPair{Key: "secret/new", Value: []byte("1")}, nil)
	mkv.Delete("secret/x", nil)
	select {
	case idx := <-done:
		t.Fatalf("a change to hidden keys woke the query (index %d -> %d)", meta.LastIndex, idx)
	case <-time.After(700 * time.Millisecond):
	}
	mkv.Put(&api.KVPair{Key: "app/new", Value: []byte("1")}, nil)
	select {
	case idx := <-done:
		if idx <= meta.LastIndex {
			t.Fatalf("visible change: index %d -> %d", meta.LastIndex, idx)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a visible change did not wake the query")
	}

	// A service the token cannot read: an index of 1, whatever happens.
	h := tokenClient(t, w.a, w.kvApp).Health()
	entries, hm, err := h.Service("web", "", false, nil)
	if err != nil || len(entries) != 0 || hm.LastIndex != 1 {
		t.Fatalf("hidden service: %d entries, index %d, %v", len(entries), hm.LastIndex, err)
	}
	w.managementAccount.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web", Name: "web", Port: 8080})
	w.a.Agent.SyncNow()
	if _, hm, _ = h.Service("web", "", false, nil); hm.LastIndex != 1 {
		t.Fatalf("hidden service index moved to %d", hm.LastIndex)
	}
	if _, km, _ := kv.Get("secret/new", nil); km != nil {
		t.Fatal("a hidden key answered with meta")
	}
}

// TestACLDNSUsesDefaultToken checks that DNS answers only what the
// agent's default token may read.
func TestACLDNSUsesDefaultToken(t *testing.T) {
	w := newACLWorld(t)
	ask := func(name string) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		r, err := dns.Exchange(m, w.a.DNSAddr)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := ask("web.service.consul."); len(r.Answer) != 0 {
		t.Fatalf("anonymous DNS answered a hidden service: %v", r.Answer)
	}
	if r := ask(w.node + ".node.consul."); len(r.Answer) != 0 {
		t.Fatalf("anonymous DNS answered a hidden node: %v", r.Answer)
	}
	if _, err := w.managementAccount.Agent().UpdateDefaultACLToken(w.readOnly, nil); err != nil {
		t.Fatal(err)
	}
	if r := ask("web.service.consul."); len(r.Answer) == 0 {
		t.Fatalf("DNS with a readable default token: %v", r)
	}
	// The default token also serves HTTP requests without a token.
	if code, _ := do(t, "GET", w.a.URL("/v1/kv/secret/x"), "", ""); code != 200 {
		t.Fatalf("request without a token after setting the default: %d", code)
	}
}

func TestACLUITokenCookie(t *testing.T) {
	w := newACLWorld(t)
	req := mustReq(t, "GET", w.a.URL("/ui/dc1/services"), "")
	req.Header.Set("Cookie", "beacon-ui-token="+w.readOnly)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if !strings.Contains(b.String(), ">web<") {
		t.Fatalf("UI with a token cookie: %.300s", b.String())
	}
	// The cookie is for the UI only, not the API.
	req = mustReq(t, "GET", w.a.URL("/v1/kv/secret/x"), "")
	req.Header.Set("Cookie", "beacon-ui-token="+w.readOnly)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 403 {
		t.Fatalf("API honoured the UI cookie: %d", resp.StatusCode)
	}
}

func TestACLTokenPersistence(t *testing.T) {
	dir := t.TempDir()
	hcl := fmt.Sprintf(`data_dir = %q
acl { enabled = true  default_policy = "deny"  enable_token_persistence = true  tokens { initial_management = "root" } }`, dir)
	a := testagent.Start(t, testagent.WithHCL(hcl))
	if _, err := tokenClient(t, a, "root").Agent().UpdateDefaultACLToken("root", nil); err != nil {
		t.Fatal(err)
	}
	a.Shutdown()
	var saved map[string]string
	b := readFile(t, dir+"/acl-tokens.json")
	if err := json.Unmarshal(b, &saved); err != nil || saved["default"] != "root" {
		t.Fatalf("persisted tokens: %s %v", b, err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestACLHiddenListsAreEmptyArrays(t *testing.T) {
	w := newACLWorld(t)
	for _, p := range []string{"/v1/catalog/service/web", "/v1/health/service/web", "/v1/health/checks/web", "/v1/catalog/nodes", "/v1/session/list"} {
		if code, body := do(t, "GET", w.a.URL(p), w.kvApp, ""); code != 200 || body != "[]" {
			t.Errorf("%s: %d %q, want []", p, code, body)
		}
	}
}
