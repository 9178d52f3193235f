package promsd

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/consul"
)

// The exporters of the seed article, registered the way it does (agent
// service register with ID, Name, Address, Port, Tags), plus instances
// whose tags must not earn env="prod".
var exporters = []api.AgentServiceRegistration{
	{ID: "node_exporter01", Name: "node_exporter", Address: "127.0.0.1", Port: 9100, Tags: []string{"prod"}},
	{ID: "node_exporter02", Name: "node_exporter", Address: "127.0.0.2", Port: 9100, Tags: []string{"linux", "prod", "rack-2"}},
	{ID: "node_exporter03", Name: "node_exporter", Address: "127.0.0.3", Port: 9100, Tags: []string{"preprod"}},
	{ID: "redis_exporter01", Name: "redis_exporter", Address: "127.0.0.1", Port: 9121, Tags: []string{"prod"}},
	{ID: "mysql_exporter01", Name: "mysql_exporter", Address: "127.0.0.1", Port: 9104, Tags: []string{"staging"}},
}

// TestConsulSDAgainstBeacon loads examples/prometheus/prometheus.yml with
// Prometheus's config loader, runs its consul_sd_configs against a beacon
// server while the exporters are registered on a client agent, and applies
// its relabel_configs with the scrape code: each exporter must come out as
// a target of its job at its address, with env="prod" exactly when tagged
// "prod"; a deregistered exporter must leave its job.
func TestConsulSDAgainstBeacon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts beacon agents; skipped with -short")
	}
	server := startAgent(t, "server1", map[string]any{
		"datacenter": "prometheus", "server": true, "bootstrap_expect": 1,
	})
	waitFor(t, 20*time.Second, "a leader", func() bool {
		l, err := server.client.Status().Leader()
		return err == nil && l != ""
	})
	client := startAgent(t, "exporters1", map[string]any{
		"datacenter": "prometheus", "retry_join": []string{"127.0.0.1:" + itoa(server.serf)}, "retry_interval": "200ms",
	})
	waitFor(t, 20*time.Second, "the client agent in the catalog", func() bool {
		n, _, err := server.client.Catalog().Node("exporters1", nil)
		return err == nil && n != nil
	})
	for i := range exporters {
		if err := client.client.Agent().ServiceRegister(&exporters[i]); err != nil {
			t.Fatalf("register %s: %v", exporters[i].ID, err)
		}
	}

	cfg, err := LoadFile(exampleConfig())
	if err != nil {
		t.Fatalf("load the example: %v", err)
	}
	for _, sc := range cfg.ScrapeConfigs {
		if len(sc.ServiceDiscoveryConfigs) == 0 {
			t.Fatalf("job %s has no service discovery", sc.JobName)
		}
		for _, d := range sc.ServiceDiscoveryConfigs {
			c, ok := d.(*consul.SDConfig)
			if !ok {
				t.Fatalf("job %s: %T, want consul_sd_configs", sc.JobName, d)
			}
			if c.Server != "127.0.0.1:8500" {
				t.Errorf("job %s: server %q, want the local agent 127.0.0.1:8500", sc.JobName, c.Server)
			}
			// Point it at this test's server, as the README's sed does.
			c.Server = server.addr()
			c.Token = "prometheus-read-token"
			// Prometheus spaces the watches of one service by
			// refresh_interval (30s by default); a shorter one keeps the
			// deregistration below quick to see.
			c.RefreshInterval = model.Duration(time.Second)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	complete := func(m map[string][]Target) bool {
		return len(m["node_exporter"]) == 3 && len(m["redis_exporter"]) == 1 && len(m["mysql_exporter"]) == 1
	}
	var deregistered time.Time
	got, err := Discover(ctx, cfg, func(m map[string][]Target) bool {
		if deregistered.IsZero() {
			if !complete(m) {
				return false
			}
			checkTargets(t, m)
			if err := client.client.Agent().ServiceDeregister("redis_exporter01"); err != nil {
				t.Fatalf("deregister: %v", err)
			}
			deregistered = time.Now()
			return false
		}
		return len(m["redis_exporter"]) == 0
	})
	if err != nil {
		t.Fatalf("discovery: %v; last targets:\n%s", err, describe(got))
	}
	t.Logf("a deregistered exporter left Prometheus's targets %v after the deregistration", time.Since(deregistered).Round(time.Millisecond))
	if len(got["node_exporter"]) != 3 || len(got["mysql_exporter"]) != 1 {
		t.Errorf("other jobs changed with the deregistration:\n%s", describe(got))
	}
}

// checkTargets checks the relabeled targets of every registered exporter.
func checkTargets(t *testing.T, m map[string][]Target) {
	t.Helper()
	want := map[string]struct {
		job, addr, env string
	}{
		"node_exporter01":  {"node_exporter", "127.0.0.1:9100", "prod"},
		"node_exporter02":  {"node_exporter", "127.0.0.2:9100", "prod"},
		"node_exporter03":  {"node_exporter", "127.0.0.3:9100", ""},
		"redis_exporter01": {"redis_exporter", "127.0.0.1:9121", "prod"},
		"mysql_exporter01": {"mysql_exporter", "127.0.0.1:9104", ""},
	}
	seen := map[string]bool{}
	for job, ts := range m {
		for _, tg := range ts {
			id := tg.Discovered["__meta_consul_service_id"]
			w, ok := want[id]
			if !ok {
				t.Errorf("job %s: unexpected target %s (%v)", job, tg.Address, tg.Discovered)
				continue
			}
			seen[id] = true
			if job != w.job || tg.Labels["job"] != w.job {
				t.Errorf("%s: in job %s with job=%q, want %s", id, job, tg.Labels["job"], w.job)
			}
			if tg.Address != w.addr || tg.Labels["instance"] != w.addr {
				t.Errorf("%s: __address__ %q instance %q, want %s", id, tg.Address, tg.Labels["instance"], w.addr)
			}
			if env, has := tg.Labels["env"]; env != w.env || has != (w.env != "") {
				t.Errorf("%s (tags %s): env=%q (set: %v), want %q", id, tg.Discovered["__meta_consul_tags"], env, has, w.env)
			}
			if dc := tg.Discovered["__meta_consul_dc"]; dc != "prometheus" {
				t.Errorf("%s: __meta_consul_dc %q, want prometheus", id, dc)
			}
			if node := tg.Discovered["__meta_consul_node"]; node != "exporters1" {
				t.Errorf("%s: __meta_consul_node %q, want the agent it was registered on", id, node)
			}
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("%s: not among the targets", id)
		}
	}
	if got := m["node_exporter"][0].Discovered["__meta_consul_tags"]; got != ",prod," {
		t.Errorf("__meta_consul_tags of node_exporter01 = %q, want \",prod,\"", got)
	}
}
