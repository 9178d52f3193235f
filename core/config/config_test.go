package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	f := NewFlags("agent", &strings.Builder{})
	if err := f.FlagSet.Parse(args); err != nil {
		return nil, err
	}
	return f.Load()
}

// Seed 000's server config.json, key for key.
const seedServerJSON = `{
  "datacenter": "prometheus",
  "data_dir": "/data/consul/data",
  "log_level": "INFO",
  "node_name": "server1",
  "node_id": "09d82408-bc4f-49e0-4208-61ef1d4842f7",
  "server": true,
  "bootstrap_expect": 3,
  "bind_addr": "192.168.1.153",
  "client_addr": "0.0.0.0",
  "ui": true,
  "encrypt": "Yvl6tRbdE2bNA9sqZ6eCJ6MA7JmZ4b3QJa5DCFq1EnE=",
  "retry_join": ["192.168.1.154:8301", "192.168.1.155:8301"],
  "retry_interval": "30s",
  "rejoin_after_leave": true,
  "start_join": ["192.168.1.154"],
  "enable_script_checks": true,
  "ports": {"http": 8500, "dns": 8600, "serf_lan": 8301, "serf_wan": 8302, "server": 8300},
  "acl": {
    "enabled": true, "default_policy": "deny", "down_policy": "extend-cache",
    "tokens": {"master": "9a7c1f2e-0000-4000-8000-000000000001", "agent": "9a7c1f2e-0000-4000-8000-000000000002"}
  }
}`

func TestSeedServerConfig(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "config.json", seedServerJSON)
	c, err := load(t, "-config-file", p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Datacenter != "prometheus" || c.NodeName != "server1" || !c.Server || c.BootstrapExpect != 3 {
		t.Fatalf("identity: %+v", c)
	}
	if c.LogLevel != "info" || c.ClientAddr != "0.0.0.0" || !c.UI || c.Ports.HTTP != 8500 {
		t.Fatalf("network/log: %+v", c)
	}
	if len(c.RetryJoin) != 2 || c.RetryInterval.D() != 30*time.Second || !c.RejoinAfterLeave {
		t.Fatalf("join: %+v", c)
	}
	if !c.ACL.Enabled || c.ACL.DefaultPolicy != "deny" || c.ACL.Tokens.InitialManagement == "" || c.ACL.Tokens.Agent == "" {
		t.Fatalf("acl (master is an alias of initial_management): %+v", c.ACL)
	}
}

func TestServiceFilesAndMerging(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "10-base.json", `{"datacenter":"dc9","retry_join":["a"],"node_meta":{"rack":"r1"}}`)
	// Seed 000's nginx.json: a service with an HTTP check and a token.
	write(t, dir, "20-nginx.json", `{"service":{"id":"nginx","name":"nginx","tags":["web"],"port":80,
	  "token":"t","check":{"http":"http://127.0.0.1:80","interval":"10s","timeout":"1s"}}}`)
	write(t, dir, "30-more.hcl", `
retry_join = ["b"]
node_meta { zone = "z1" }
services = [
  { name = "api", port = 9000, enable_tag_override = true, meta = { Version_ID = "7" } },
]
service {
  name = "web"
  tags = ["rails"]
  port = 8080
  check {
    args = ["curl", "localhost"]
    interval = "10s"
  }
}`)
	write(t, dir, "notes.txt", "ignored: not a config file")
	c, err := load(t, "-config-dir", dir, "-datacenter", "dc2", "-retry-join", "c", "-node", "n1", "-dev")
	if err != nil {
		t.Fatal(err)
	}
	if c.Datacenter != "dc2" {
		t.Errorf("flag should beat files: datacenter %q", c.Datacenter)
	}
	if got := strings.Join(c.RetryJoin, ","); got != "a,b,c" {
		t.Errorf("retry_join accumulates in order: %q", got)
	}
	if c.NodeMeta["rack"] != "r1" || c.NodeMeta["zone"] != "z1" {
		t.Errorf("node_meta merges: %v", c.NodeMeta)
	}
	svcs := c.AllServices()
	if len(svcs) != 3 {
		t.Fatalf("want nginx, web and api, got %d services", len(svcs))
	}
	byName := map[string]int{}
	for i, s := range svcs {
		byName[s.Name] = i
	}
	web := svcs[byName["web"]]
	if web.Check == nil || len(web.Check.ScriptArgs) != 2 || web.Check.Interval.D() != 10*time.Second {
		t.Errorf("HCL service check: %+v", web.Check)
	}
	api := svcs[byName["api"]]
	if !api.EnableTagOverride || api.Meta["Version_ID"] != "7" {
		t.Errorf("snake_case keys and verbatim meta keys: %+v", api)
	}
	if n := svcs[byName["nginx"]]; n.Token != "t" || n.Check.HTTP == "" {
		t.Errorf("nginx: %+v", n)
	}
}

func TestBadConfigNamesFileAndKey(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, file, body string
		args             []string
		want             []string
	}{
		{"unknown top-level key", "a.json", `{"datacenter":"x","bogus_key":1}`, nil, []string{"a.json", "bogus_key"}},
		{"unknown nested key", "b.json", `{"ports":{"htp":1}}`, nil, []string{"b.json", "ports.htp"}},
		{"unknown key in a service", "c.hcl", `service { name = "x" portt = 1 }`, nil, []string{"c.hcl", "service.portt"}},
		{"malformed json", "d.json", `{"datacenter":`, nil, []string{"d.json"}},
		{"wrong type", "e.json", `{"ports":{"http":"eighty"}}`, nil, []string{"e.json", "ports.http"}},
		{"bad log level", "f.json", `{"log_level":"loud"}`, nil, []string{"log_level", "loud"}},
		{"check without interval", "g.json", `{"check":{"name":"c","http":"http://x"}}`, nil, []string{"interval"}},
		{"short encrypt key", "h.json", `{"encrypt":"c2hvcnQ="}`, nil, []string{"encrypt", "16, 24 or 32"}},
		{"unknown raft log backend", "i.hcl", `raft_logstore { backend = "rocks" }`, nil, []string{"raft_logstore.backend", "rocks"}},
		{"another consul version", "j.json", `{"version":"1.9.0"}`, nil, []string{"version", "1.9.0", "1.22.3"}},
		{"network segments", "k.json", `{"segments":[{"name":"alpha","port":8303}]}`, nil, []string{"segments", "Enterprise"}},
		{"audit logging on", "l.hcl", `audit { enabled = true }`, nil, []string{"audit", "Enterprise"}},
		{"experiments", "m.json", `{"experiments":["resource-apis"]}`, nil, []string{"experiments", "resource-apis"}},
		{"unknown peering key", "n.json", `{"peering":{"enabled":true,"test_allow_peer_registrations":true}}`, nil, []string{"peering.test_allow_peer_registrations"}},
		{"negative transaction limit", "o.hcl", `limits { txn_max_req_len = -1 }`, nil, []string{"limits.txn_max_req_len", "-1"}},
		{"bad port flag", "", "", []string{"-http-port", "http"}, []string{"http-port"}},
		{"missing data dir", "", "", []string{"-node", "x"}, []string{"data_dir"}},
	}
	for _, c := range cases {
		args := c.args
		if c.file != "" {
			args = append([]string{"-dev", "-config-file", write(t, dir, c.file, c.body)}, args...)
		}
		_, err := load(t, args...)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", c.name, err, w)
			}
		}
	}
}

// TestConsulHarnessConfig loads the config file Consul's own test harness
// (sdk/testutil) writes, plus the empty extra file it may pass: both load,
// and what beacon does not do is reported as a warning.
func TestConsulHarnessConfig(t *testing.T) {
	dir := t.TempDir()
	harness := write(t, dir, "config.json", `{"node_name":"node-1","node_id":"0b0a6e2c-1111-2222-3333-444444444444",
	  "performance":{"raft_multiplier":1},"bootstrap":true,"server":true,"data_dir":"`+dir+`/data","segments":null,
	  "disable_update_check":true,"log_level":"debug","bind_addr":"127.0.0.1","addresses":{},
	  "ports":{"dns":18600,"http":18500,"https":18501,"serf_lan":18301,"serf_wan":18302,"server":18300,"grpc":18502,"grpc_tls":18503},
	  "acl":{},"skip_leave_on_interrupt":true,"peering":{"enabled":true},"version":"1.22.3","segments":[],"experiments":[]}`)
	empty := write(t, dir, "empty.json", "")
	blank := write(t, dir, "blank.hcl", "\n  \n")
	c, err := load(t, "-config-file", harness, "-config-file", empty, "-config-file", blank)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ports.HTTPS != -1 || c.Ports.HTTP != 18500 {
		t.Errorf("ports: https %d (want -1: no certificate, no listener), http %d", c.Ports.HTTPS, c.Ports.HTTP)
	}
	warned := strings.Join(c.Warnings, "\n")
	for _, w := range []string{"ports.https is 18501", "no HTTPS listener", "peering.enabled"} {
		if !strings.Contains(warned, w) {
			t.Errorf("warnings %q lack %q", c.Warnings, w)
		}
	}
}

func TestSeedKubernetesFlags(t *testing.T) {
	// Seed 001's server command line.
	c, err := load(t, "-advertise=10.1.2.3", "-bind=0.0.0.0", "-bootstrap-expect=3",
		"-retry-join=consul-server", "-client=0.0.0.0", "-datacenter=dc1", "-data-dir=/consul/data",
		"-domain=cluster.local", "-server", "-ui", "-disable-host-node-id", "-recursor=114.114.114.114",
		"-node=consul-0", "-grpc-port=8502")
	if err != nil {
		t.Fatal(err)
	}
	if c.Domain != "cluster.local." || c.Recursors[0] != "114.114.114.114" || c.DisableHostNodeID == nil || !*c.DisableHostNodeID {
		t.Fatalf("%+v", c)
	}
	if c.AdvertiseAddr != "10.1.2.3" || c.RetryJoin[0] != "consul-server" || c.Ports.GRPC != 8502 {
		t.Fatalf("%+v", c)
	}
}
