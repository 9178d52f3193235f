package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/config"
)

// startServer runs a non-dev server agent with a data dir and config dir.
func startServer(t *testing.T, dataDir, configDir string) (*Daemon, *api.Client) {
	t.Helper()
	base := config.Source{Name: "test", Format: "json", Data: []byte(fmt.Sprintf(
		`{"node_name":"persist-node","server":true,"bootstrap":true,"bind_addr":"127.0.0.1","data_dir":%q,"ports":{"http":0,"dns":-1,"server":0,"serf_lan":0},"log_level":"error"}`, dataDir))}
	load := func() (*config.Config, error) {
		srcs := []config.Source{base}
		if configDir != "" {
			more, err := config.ReadSources([]string{configDir}, "")
			if err != nil {
				return nil, err
			}
			srcs = append(srcs, more...)
		}
		return config.Build(false, srcs)
	}
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Start(cfg, Options{Load: load, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	ac := api.DefaultNonPooledConfig()
	ac.Address = d.HTTPAddrs()[0].String()
	c, err := api.NewClient(ac)
	if err != nil {
		t.Fatal(err)
	}
	return d, c
}

// API registrations and maintenance mode survive an agent restart; the
// node keeps its ID.
func TestRegistrationsSurviveRestart(t *testing.T) {
	dataDir := t.TempDir()
	d, c := startServer(t, dataDir, "")
	err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 80,
		Check: &api.AgentServiceCheck{TTL: "1m", Status: "passing"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().EnableNodeMaintenance("upgrade"); err != nil {
		t.Fatal(err)
	}
	id := d.Agent.Node().ID
	d.Shutdown()

	d2, c2 := startServer(t, dataDir, "")
	if d2.Agent.Node().ID != id {
		t.Fatalf("node ID changed across restart: %s -> %s", id, d2.Agent.Node().ID)
	}
	svcs, _ := c2.Agent().Services()
	if svcs["web-1"] == nil {
		t.Fatalf("service lost on restart: %v", svcs)
	}
	checks, _ := c2.Agent().Checks()
	if m := checks["_node_maintenance"]; m == nil || m.Notes != "upgrade" || m.Status != "critical" {
		t.Fatalf("maintenance lost on restart: %+v", checks)
	}
	if s, _, _ := c2.Catalog().Service("web", "", nil); len(s) != 1 {
		t.Fatalf("restored service not in the catalog: %v", s)
	}
	// A damaged state file does not keep the agent down.
	d2.Shutdown()
	if err := os.WriteFile(filepath.Join(dataDir, "local-state.json"), []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, c3 := startServer(t, dataDir, "")
	if _, err := c3.Status().Leader(); err != nil {
		t.Fatalf("agent with a damaged state file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "local-state.json.corrupt")); err != nil {
		t.Fatal("damaged state file not kept aside for inspection")
	}
}

// Reload re-reads config files: new services appear, removed ones go, API
// registrations stay, and a broken file changes nothing.
func TestReloadConfigDefinitions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("web.json", `{"service":{"name":"web","port":80}}`)
	write("db.hcl", `service { name = "db" port = 5432 }`)
	d, c := startServer(t, t.TempDir(), dir)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "api-registered"}); err != nil {
		t.Fatal(err)
	}
	names := func() map[string]bool {
		t.Helper()
		if err := d.Agent.SyncNow(); err != nil {
			t.Fatal(err)
		}
		svcs, _, err := c.Catalog().Services(nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for n := range svcs {
			out[n] = true
		}
		return out
	}
	if n := names(); !n["web"] || !n["db"] {
		t.Fatalf("config services missing: %v", n)
	}

	os.Remove(filepath.Join(dir, "db.hcl"))
	write("cache.json", `{"services":[{"name":"cache","port":6379}]}`)
	if err := c.Agent().Reload(); err != nil {
		t.Fatal(err)
	}
	n := names()
	if n["db"] || !n["cache"] || !n["web"] || !n["api-registered"] {
		t.Fatalf("after reload: %v", n)
	}

	write("bad.json", `{"service":{"name":"x","bogus":1}}`)
	err := c.Agent().Reload()
	if err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("reload of a broken file: %v (want an error naming the file and key)", err)
	}
	if n := names(); !n["cache"] || !n["web"] {
		t.Fatalf("broken reload changed the services: %v", n)
	}
}

// A data dir keeps its raft log format: a server whose log is BoltDB keeps
// using it, and asking for the other backend is refused by name.
func TestRaftLogBackendIsKept(t *testing.T) {
	dataDir := t.TempDir()
	d, _ := startServer(t, dataDir, "")
	d.Shutdown()
	if _, err := os.Stat(filepath.Join(dataDir, "raft", "wal")); err != nil {
		t.Fatalf("a new data dir did not get a WAL raft log: %v", err)
	}
	cfgDir := t.TempDir()
	os.WriteFile(filepath.Join(cfgDir, "log.hcl"), []byte(`raft_logstore { backend = "boltdb" }`), 0o644)
	base := config.Source{Name: "test", Format: "json", Data: []byte(fmt.Sprintf(
		`{"node_name":"persist-node","server":true,"bootstrap":true,"bind_addr":"127.0.0.1","data_dir":%q,"ports":{"http":0,"dns":-1,"server":0,"serf_lan":0},"log_level":"error"}`, dataDir))}
	more, err := config.ReadSources([]string{cfgDir}, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Build(false, append([]config.Source{base}, more...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(cfg, Options{Logger: hclog.NewNullLogger()}); err == nil || !strings.Contains(err.Error(), "holds a WAL raft log") {
		t.Fatalf("switching a WAL data dir to boltdb: %v", err)
	}
	// The server still starts on its WAL afterwards, with its data.
	d, c := startServer(t, dataDir, "")
	defer d.Shutdown()
	if _, err := c.Status().Leader(); err != nil {
		t.Fatal(err)
	}
}
