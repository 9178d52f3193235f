package http_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// TestFilterBlocking: a filtered blocking read waits on the whole list it
// filters and answers that list's index, as Consul does: a change outside
// the filter wakes it with the same result, and a change inside shows.
func TestFilterBlocking(t *testing.T) {
	a := testagent.Start(t)
	registerFilterFixture(t, a.Client)
	health := a.Client.Health()
	const f = "Service.Meta.version == 2"
	_, full, err := health.Service("redis", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, meta, err := health.Service("redis", "", false, q(f))
	if err != nil {
		t.Fatal(err)
	}
	expectLen(t, "redis v2", entries, err, 1)
	if meta.LastIndex != full.LastIndex {
		t.Errorf("a filtered list answers index %d, the whole list %d", meta.LastIndex, full.LastIndex)
	}
	watch := func(index uint64) <-chan blockResult {
		return block(func(o *api.QueryOptions) (uint64, error) {
			o.Filter = f
			got, m, err := health.Service("redis", "", false, o)
			if err == nil && len(got) != 1 {
				t.Errorf("woken with %d entries", len(got))
			}
			if err != nil {
				return 0, err
			}
			return m.LastIndex, nil
		}, index, 30*time.Second)
	}
	// A v1 instance's check changes: outside the filter, inside the list.
	ch := watch(meta.LastIndex)
	time.Sleep(100 * time.Millisecond)
	reg := &api.CatalogRegistration{Node: "bar", SkipNodeUpdate: true,
		Check: &api.AgentCheck{Node: "bar", CheckID: "bar:redisV1", Name: "redisV1", Status: api.HealthWarning, ServiceID: "redisV1"}}
	if _, err := a.Client.Catalog().Register(reg, nil); err != nil {
		t.Fatal(err)
	}
	var r blockResult
	select {
	case r = <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("a change to the filtered list did not wake the query")
	}
	_, full, _ = health.Service("redis", "", false, nil)
	if r.err != nil || r.index <= meta.LastIndex || r.index != full.LastIndex {
		t.Errorf("woken with index %d (%v); before %d, the whole list's now %d", r.index, r.err, meta.LastIndex, full.LastIndex)
	}
}

// TestFilterBlockingCatalogServices: a filtered /v1/catalog/services read
// may depend on any field of any instance or node, so a change that leaves
// the name -> tags map alone but changes what the filter selects wakes it.
func TestFilterBlockingCatalogServices(t *testing.T) {
	a := testagent.Start(t)
	registerFilterFixture(t, a.Client)
	cat := a.Client.Catalog()
	const f = `ServiceMeta.owner == "ops"`
	svcs, meta, err := cat.Services(q(f))
	if err != nil || len(svcs) != 0 {
		t.Fatalf("nothing is owned by ops yet: %v, %v", svcs, err)
	}
	ch := make(chan map[string][]string, 1)
	go func() {
		got, _, err := cat.Services(&api.QueryOptions{Filter: f, WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		ch <- got
	}()
	time.Sleep(100 * time.Millisecond)
	// Same name and tags, new metadata: the unfiltered map does not move.
	reg := &api.CatalogRegistration{Node: "baz", SkipNodeUpdate: true,
		Service: &api.AgentService{ID: "warningV2", Service: "warning", Tags: []string{"v2"}, Port: 8081,
			Meta: map[string]string{"version": "2", "owner": "ops"}}}
	if _, err := cat.Register(reg, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		if !sameServices(got, map[string][]string{"warning": {"v2"}}) {
			t.Errorf("woken with %v", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a metadata change the filter selects did not wake the query")
	}
}

// TestFilterSeesOnlyWhatTheTokenReads: the filter runs on what the token
// may read, so whether something hidden matches it never shows: not in
// the result, and not in X-Consul-Results-Filtered-By-ACLs, which says
// the same whatever the expression.
func TestFilterSeesOnlyWhatTheTokenReads(t *testing.T) {
	w := newACLWorld(t)
	mc := w.managementAccount
	p, _, err := mc.ACL().PolicyCreate(&api.ACLPolicy{Name: "web-only",
		Rules: `service "web" { policy = "read" }` + "\n" + `node_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := mc.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: p.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, filter, want string }{
		{"/v1/catalog/services", "ServiceName == tmpsvc", "{}"},
		{"/v1/catalog/services", "ServiceName == web", `{"web":[]}`},
		{"/v1/agent/services", "Service == tmpsvc", "{}"},
		{"/v1/agent/services", "Service == web", `"web"`},
		{"/v1/catalog/node/" + w.node, "Service == tmpsvc", `"Services":{}`},
		{"/v1/catalog/node/" + w.node, "Service == web", `"ID":"web"`},
	} {
		req := mustReq(t, "GET", w.a.URL(c.path+"?filter="+url.QueryEscape(c.filter)), "")
		req.Header.Set("X-Consul-Token", tok.SecretID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if resp.StatusCode != 200 || !strings.Contains(body, c.want) || strings.Contains(body, "tmpsvc") {
			t.Errorf("%s?filter=%s: %d %s, want %s", c.path, c.filter, resp.StatusCode, body, c.want)
		}
		if resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "true" {
			t.Errorf("%s?filter=%s: the header tells whether hidden services match", c.path, c.filter)
		}
	}
}
