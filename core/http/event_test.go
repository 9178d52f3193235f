package http_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// TestEventFireList follows the official client's own test: the fired
// event is the last listed, and the list's index is derived from its ID.
func TestEventFireList(t *testing.T) {
	a := testagent.Start(t)
	ev := a.Client.Event()
	id, meta, err := ev.Fire(&api.UserEvent{Name: "foo"}, nil)
	if err != nil || id == "" || meta.RequestTime == 0 {
		t.Fatalf("fire: %q %+v %v", id, meta, err)
	}
	events, qm, err := ev.List("", nil)
	if err != nil || len(events) == 0 || events[len(events)-1].ID != id {
		t.Fatalf("list: %+v %v", events, err)
	}
	if qm.LastIndex != ev.IDToIndex(id) {
		t.Fatalf("list index %d, want %d from the event ID", qm.LastIndex, ev.IDToIndex(id))
	}
	last := events[len(events)-1]
	if last.Name != "foo" || last.Version != 1 || last.LTime == 0 || last.Payload != nil {
		t.Fatalf("listed event: %+v", last)
	}
}

func TestEventFireAnswer(t *testing.T) {
	a := testagent.Start(t)
	code, body := do(t, "PUT", a.URL("/v1/event/fire/deploy?service=web&tag=v1&node=."), "", "v1.2.3")
	if code != 200 {
		t.Fatalf("fire: %d %s", code, body)
	}
	var got map[string]interface{}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]interface{}{
		"Name": "deploy", "Payload": "djEuMi4z", "NodeFilter": ".", "ServiceFilter": "web",
		"TagFilter": "v1", "Version": 1.0,
	} {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v (%s)", k, got[k], want, body)
		}
	}
	if id, _ := got["ID"].(string); len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Errorf("ID %q is not a UUID", id)
	}
	if _, ok := got["LTime"]; !ok {
		t.Errorf("no LTime: %s", body)
	}
	// Without services here, that event is not kept by this agent.
	if evs, _, _ := a.Client.Event().List("deploy", nil); len(evs) != 0 {
		t.Errorf("an event for service web kept by an agent without it: %+v", evs)
	}
	// With nothing kept, the list is empty, not null, at index 1.
	code, body = do(t, "GET", a.URL("/v1/event/list"), "", "")
	if code != 200 || body != "[]" {
		t.Errorf("empty list: %d %s", code, body)
	}
}

func TestEventFilters(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Tags: []string{"v1", "blue"}}); err != nil {
		t.Fatal(err)
	}
	node := a.Agent.Node().Node
	cases := []struct {
		name string
		ev   api.UserEvent
		kept bool
	}{
		{"no filter", api.UserEvent{}, true},
		{"node matches", api.UserEvent{NodeFilter: "^" + node + "$"}, true},
		{"node differs", api.UserEvent{NodeFilter: "^other$"}, false},
		{"service matches", api.UserEvent{ServiceFilter: "^we"}, true},
		{"service differs", api.UserEvent{ServiceFilter: "^db$"}, false},
		{"service and tag match", api.UserEvent{ServiceFilter: "web", TagFilter: "^blue$"}, true},
		{"tag differs", api.UserEvent{ServiceFilter: "web", TagFilter: "^green$"}, false},
		{"node matches, service differs", api.UserEvent{NodeFilter: ".", ServiceFilter: "db"}, false},
	}
	for i, tc := range cases {
		ev := tc.ev
		ev.Name = "e" + string(rune('a'+i))
		id, _, err := c.Event().Fire(&ev, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		evs, _, err := c.Event().List(ev.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if kept := len(evs) == 1 && evs[0].ID == id; kept != tc.kept {
			t.Errorf("%s: kept=%v, want %v (%+v)", tc.name, kept, tc.kept, evs)
		}
	}
	all, _, _ := c.Event().List("", nil)
	if len(all) != 4 {
		t.Errorf("list of every kept event: %d events", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].LTime <= all[i-1].LTime {
			t.Errorf("events not in firing order: %+v", all)
		}
	}
}

func TestEventListBlocks(t *testing.T) {
	a := testagent.Start(t)
	ev := a.Client.Event()
	id, _, err := ev.Fire(&api.UserEvent{Name: "deploy"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := ev.IDToIndex(id)
	list := func(o *api.QueryOptions) (uint64, error) {
		_, m, err := ev.List("deploy", o)
		if err != nil {
			return 0, err
		}
		return m.LastIndex, nil
	}
	// Nothing new: the whole wait, and the same index.
	res := <-block(list, idx, 300*time.Millisecond)
	if res.err != nil || res.index != idx || res.elapsed < 300*time.Millisecond {
		t.Fatalf("no new event: %+v", res)
	}
	// An event of another name does not wake a list of "deploy"; a new
	// "deploy" does, with its own index.
	ch := block(list, idx, 30*time.Second)
	time.Sleep(100 * time.Millisecond)
	if _, _, err := ev.Fire(&api.UserEvent{Name: "other"}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ch:
		t.Fatalf("woken by an event of another name: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	id2, _, err := ev.Fire(&api.UserEvent{Name: "deploy", Payload: []byte("2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ch:
		if r.err != nil || r.index != ev.IDToIndex(id2) {
			t.Fatalf("woken: %+v, want index %d", r, ev.IDToIndex(id2))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a new event did not wake the blocking list")
	}
	// A list with nothing in it answers index 1, and blocks on it.
	res = <-block(func(o *api.QueryOptions) (uint64, error) {
		_, m, err := ev.List("none", o)
		if err != nil {
			return 0, err
		}
		return m.LastIndex, nil
	}, 1, 200*time.Millisecond)
	if res.err != nil || res.index != 1 || res.elapsed < 200*time.Millisecond {
		t.Fatalf("empty list: %+v", res)
	}
}

func TestEventBadInput(t *testing.T) {
	a := testagent.Start(t)
	for _, c := range []struct {
		method, path, body string
		code               int
		says               string
	}{
		{"PUT", "/v1/event/fire/", "", 400, "Missing name"},
		{"PUT", "/v1/event/fire/x?tag=v1", "", 400, "a tag filter needs a service filter"},
		{"PUT", "/v1/event/fire/x?node=(", "", 400, `invalid node filter "("`},
		{"PUT", "/v1/event/fire/x?service=web&tag=[", "", 400, `invalid tag filter "["`},
		{"PUT", "/v1/event/fire/_rexec", "", 400, "reserved"},
		{"PUT", "/v1/event/fire/x", strings.Repeat("p", 600), 413, "event too large: its name, payload and filters take 601 bytes"},
		{"PUT", "/v1/event/fire/x?dc=elsewhere", "", 500, `No path to datacenter "elsewhere"`},
		{"GET", "/v1/event/list?index=x", "", 400, "Invalid index"},
		{"POST", "/v1/event/fire/x", "", 405, "method POST not allowed"},
		{"GET", "/v1/event/fire/x", "", 405, "method GET not allowed"},
	} {
		code, body := do(t, c.method, a.URL(c.path), "", c.body)
		if code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("%s %s: %d %q, want %d with %q", c.method, c.path, code, body, c.code, c.says)
		}
	}
	if evs, _, _ := a.Client.Event().List("", nil); len(evs) != 0 {
		t.Errorf("refused events were kept: %+v", evs)
	}
	// The agent still serves.
	if _, _, err := a.Client.Event().Fire(&api.UserEvent{Name: "ok"}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestEventACL(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`acl {
  enabled = true
  default_policy = "deny"
  tokens { initial_management = "root"  agent = "root" }
}`))
	root := tokenClient(t, a, "root")
	pol, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "deploy-events",
		Rules: `event "deploy" { policy = "write" }  event_prefix "audit" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	user := tokenClient(t, a, tok.SecretID)
	for _, name := range []string{"audit-1", "secret", "deploy"} {
		if _, _, err := root.Event().Fire(&api.UserEvent{Name: name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := user.Event().Fire(&api.UserEvent{Name: "deploy"}, nil); err != nil {
		t.Fatalf("event:write on deploy: %v", err)
	}
	for _, name := range []string{"audit-1", "secret"} {
		_, _, err := user.Event().Fire(&api.UserEvent{Name: name}, nil)
		if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "Permission denied") {
			t.Errorf("fire %s with read or no rights: %v", name, err)
		}
	}
	if code, body := do(t, "PUT", a.URL("/v1/event/fire/deploy"), "", ""); code != 403 {
		t.Errorf("fire without a token: %d %s", code, body)
	}
	// A big body from a token that may not fire is refused before it is
	// read.
	if code, body := do(t, "PUT", a.URL("/v1/event/fire/secret"), tok.SecretID, strings.Repeat("x", 100<<10)); code != 403 {
		t.Errorf("large fire without event:write: %d %s", code, body)
	}

	names := func(c *api.Client) string {
		t.Helper()
		evs, _, err := c.Event().List("", nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range evs {
			out = append(out, e.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(root); got != "audit-1,secret,deploy,deploy" {
		t.Errorf("management sees %q", got)
	}
	if got := names(user); got != "audit-1,deploy,deploy" {
		t.Errorf("event read on audit*, write on deploy sees %q", got)
	}
	code, body := do(t, "GET", a.URL("/v1/event/list"), tok.SecretID, "")
	if code != 200 || strings.Contains(body, "secret") {
		t.Errorf("list: %d %s", code, body)
	}
	req := mustReq(t, "GET", a.URL("/v1/event/list"), "")
	req.Header.Set("X-Consul-Token", tok.SecretID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "true" {
		t.Errorf("a list that left out an unreadable event lacks the filtered header: %v", resp.Header)
	}
	if code, body := do(t, "GET", a.URL("/v1/event/list"), "", ""); code != 200 || body != "[]" {
		t.Errorf("anonymous list: %d %s", code, body)
	}
}
