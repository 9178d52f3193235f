package http_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// The autopilot configuration reads with Consul's defaults, is replaced
// whole by a set (as the official client sends it: only the fields it
// filled) and by a check-and-set only at its current index.
func TestAutopilotConfigurationWithOfficialClient(t *testing.T) {
	a := testagent.Start(t)
	op := a.Client.Operator()
	conf, err := op.AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !conf.CleanupDeadServers || conf.LastContactThreshold.Duration() != 200*time.Millisecond || conf.MaxTrailingLogs != 250 ||
		conf.MinQuorum != 0 || conf.ServerStabilizationTime.Duration() != 10*time.Second || conf.CreateIndex == 0 ||
		conf.ModifyIndex != conf.CreateIndex {
		t.Fatalf("defaults: %+v", conf)
	}

	if err := op.AutopilotSetConfiguration(&api.AutopilotConfiguration{CleanupDeadServers: false, MinQuorum: 3}, nil); err != nil {
		t.Fatal(err)
	}
	set, err := op.AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.CleanupDeadServers || set.MinQuorum != 3 || set.LastContactThreshold.Duration() != 0 || set.MaxTrailingLogs != 0 ||
		set.CreateIndex != conf.CreateIndex || set.ModifyIndex <= conf.ModifyIndex {
		t.Fatalf("after a set: %+v", set)
	}

	stale := *set
	stale.ModifyIndex--
	stale.CleanupDeadServers = true
	if ok, err := op.AutopilotCASConfiguration(&stale, nil); err != nil || ok {
		t.Fatalf("CAS at an old index: %v %v", ok, err)
	}
	current := *set
	current.CleanupDeadServers = true
	current.ServerStabilizationTime = api.NewReadableDuration(time.Second)
	if ok, err := op.AutopilotCASConfiguration(&current, nil); err != nil || !ok {
		t.Fatalf("CAS at the current index: %v %v", ok, err)
	}
	got, _ := op.AutopilotGetConfiguration(nil)
	if !got.CleanupDeadServers || got.ServerStabilizationTime.Duration() != time.Second {
		t.Fatalf("after the CAS: %+v", got)
	}
	// The raw answers: "0s" for a zero duration, true or false as text.
	if code, body := do(t, "GET", a.URL("/v1/operator/autopilot/configuration"), "", ""); code != 200 ||
		!strings.Contains(body, `"LastContactThreshold":"0s"`) || !strings.Contains(body, `"ServerStabilizationTime":"1s"`) {
		t.Fatalf("GET: %d %s", code, body)
	}
	if code, body := do(t, "PUT", a.URL("/v1/operator/autopilot/configuration?cas=1"), "", `{"CleanupDeadServers":true}`); code != 200 || body != "false" {
		t.Fatalf("CAS at index 1: %d %s", code, body)
	}
	if code, body := do(t, "PUT", a.URL("/v1/operator/autopilot/configuration"), "", `{"CleanupDeadServers":true,"LastContactThreshold":"300ms"}`); code != 200 || body != "true" {
		t.Fatalf("set: %d %s", code, body)
	}
}

// Bad input is refused with a 400 that names the problem, and the stored
// configuration stays as it was.
func TestAutopilotConfigurationRefusals(t *testing.T) {
	a := testagent.Start(t)
	before, err := a.Client.Operator().AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ query, body, want string }{
		{"", `{"CleanupDeadServers": tru`, "Error parsing autopilot config"},
		{"", `{"CleanupDeadServer": false}`, "CleanupDeadServer"},
		{"", `{"LastContactThreshold": "soon"}`, "soon"},
		{"", ``, "Missing the autopilot configuration"},
		{"", `{"RedundancyZoneTag": "zone"}`, "RedundancyZoneTag"},
		{"", `{"DisableUpgradeMigration": true}`, "DisableUpgradeMigration"},
		{"", `{"UpgradeVersionTag": "build"}`, "UpgradeVersionTag"},
		{"", `{"ServerStabilizationTime": "-1s"}`, "ServerStabilizationTime -1s: must not be negative"},
		{"?cas=x", `{}`, `Invalid cas: "x"`},
	} {
		code, body := do(t, "PUT", a.URL("/v1/operator/autopilot/configuration"+tc.query), "", tc.body)
		if code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %q, want 400 with %q", tc.query, tc.body, code, body, tc.want)
		}
	}
	after, _ := a.Client.Operator().AutopilotGetConfiguration(nil)
	if after.ModifyIndex != before.ModifyIndex {
		t.Fatalf("a refused write changed the configuration: %+v", after)
	}
}

// The agent's autopilot block is the configuration the cluster starts
// with; keys beacon would not act on stop the agent with their name.
func TestAutopilotConfigBlock(t *testing.T) {
	a := testagent.Start(t, testagent.WithJSON(`{"autopilot":{"server_stabilization_time":"3s","cleanup_dead_servers":false,"min_quorum":5,"max_trailing_logs":10,"last_contact_threshold":"1s"}}`))
	c, err := a.Client.Operator().AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerStabilizationTime.Duration() != 3*time.Second || c.CleanupDeadServers || c.MinQuorum != 5 || c.MaxTrailingLogs != 10 ||
		c.LastContactThreshold.Duration() != time.Second {
		t.Fatalf("from the block: %+v", c)
	}
}

// One dev server: healthy, the leader, named as the agent, in both the
// health and the state views.
func TestAutopilotHealthAndState(t *testing.T) {
	a := testagent.Start(t)
	node := a.Agent.Node()
	h, err := a.Client.Operator().AutopilotServerHealth(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Healthy || h.FailureTolerance != 0 || len(h.Servers) != 1 {
		t.Fatalf("health: %+v", h)
	}
	s := h.Servers[0]
	if s.ID != node.ID || s.Name != node.Node || !s.Healthy || !s.Leader || !s.Voter || s.SerfStatus != "alive" ||
		s.Version == "" || s.StableSince.IsZero() || s.LastContact == nil {
		t.Fatalf("server: %+v", s)
	}
	st, err := a.Client.Operator().AutopilotState(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, ok := st.Servers[node.ID]
	if !ok || !st.Healthy || st.Leader != node.ID || len(st.Voters) != 1 || st.Voters[0] != node.ID ||
		!srv.Healthy || srv.Name != node.Node || srv.Status != api.AutopilotServerLeader || srv.NodeType != api.AutopilotTypeVoter ||
		srv.NodeStatus != "alive" || srv.Meta["consul-network-segment"] != "" || srv.Meta == nil {
		t.Fatalf("state: %+v", st)
	}
	if st.Upgrade != nil || st.RedundancyZones != nil || st.ReadReplicas != nil {
		t.Fatalf("state has Enterprise parts: %+v", st)
	}
}

// Usage counts as Consul does: every service and instance, billable ones
// without the servers' own "consul" service, and the instances of each
// service-mesh kind (none: beacon refuses mesh registrations).
func TestOperatorUsageWithOfficialClient(t *testing.T) {
	a := testagent.Start(t)
	reg := func(svc *api.AgentService) {
		t.Helper()
		if _, err := a.Client.Catalog().Register(&api.CatalogRegistration{Node: "foobar", Address: "192.168.10.10", Service: svc}, nil); err != nil {
			t.Fatal(err)
		}
	}
	reg(&api.AgentService{ID: "redis1", Service: "redis", Port: 8000})
	reg(&api.AgentService{ID: "redis2", Service: "redis", Port: 8001})
	reg(&api.AgentService{ID: "web", Service: "web", Port: 8002})
	u, meta, err := a.Client.Operator().Usage(nil)
	if err != nil {
		t.Fatal(err)
	}
	dc := u.Usage["dc1"]
	want := map[string]int{"api-gateway": 0, "connect-native": 0, "connect-proxy": 0, "ingress-gateway": 0,
		"mesh-gateway": 0, "terminating-gateway": 0}
	if dc.Services != 3 || dc.ServiceInstances != 4 || dc.BillableServiceInstances != 3 || dc.Nodes != 2 || meta.LastIndex == 0 ||
		len(dc.ConnectServiceInstances) != len(want) {
		t.Fatalf("usage: %+v (index %d)", dc, meta.LastIndex)
	}
	for k, n := range want {
		if got, ok := dc.ConnectServiceInstances[k]; !ok || got != n {
			t.Errorf("%s: %d (listed: %v), want %d", k, got, ok, n)
		}
	}
	// A blocking read wakes on a new instance.
	done := make(chan int, 1)
	go func() {
		u, _, err := a.Client.Operator().Usage(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
		if err != nil {
			done <- -1
			return
		}
		done <- u.Usage["dc1"].ServiceInstances
	}()
	time.Sleep(100 * time.Millisecond)
	reg(&api.AgentService{ID: "redis3", Service: "redis", Port: 8003})
	select {
	case n := <-done:
		if n != 5 {
			t.Fatalf("the blocking read answered %d instances", n)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the blocking read did not return")
	}
}
