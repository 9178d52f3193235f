package daemon

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// startClientAgent starts a client agent (no server) with HTTP and DNS on
// free loopback ports.
func startClientAgent(t *testing.T) *Daemon {
	t.Helper()
	src := config.Source{Name: "client", Format: "json", Data: []byte(fmt.Sprintf(
		`{"node_name":"client-1","server":false,"bind_addr":"127.0.0.1","data_dir":%q,`+
			`"ports":{"http":0,"dns":0,"serf_lan":0},"log_level":"error"}`, t.TempDir()))}
	cfg, err := config.Build(false, []config.Source{src})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Start(cfg, Options{Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	return d
}

// Prepared queries go through the replicated log: written on a follower,
// they execute on every server and through a client agent (HTTP and DNS),
// and they are there after a restart.
func TestPreparedQueriesAcrossACluster(t *testing.T) {
	ds := startThreeServers(t)
	client := func(d *Daemon) *api.Client {
		ac := api.DefaultNonPooledConfig()
		ac.Address = d.HTTPAddrs()[0].String()
		c, err := api.NewClient(ac)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var follower *Daemon
	for _, d := range ds {
		if !d.Server.IsLeader() {
			follower = d
		}
	}
	fc := client(follower)
	if _, err := fc.Catalog().Register(&api.CatalogRegistration{Node: "web-1", Address: "10.0.0.1",
		Service: &api.AgentService{ID: "web", Service: "web", Port: 80}}, nil); err != nil {
		t.Fatal(err)
	}
	id, _, err := fc.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "web-q", Service: api.ServiceQuery{Service: "web"}}, nil)
	if err != nil {
		t.Fatalf("create on a follower: %v", err)
	}
	if _, _, err := fc.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "any-",
		Template: api.QueryTemplate{Type: "name_prefix_match"}, Service: api.ServiceQuery{Service: "${name.suffix}"}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		c := client(d)
		waitfor.Until(t, 20*time.Second, "every server to execute the queries", func() bool {
			a, _, err1 := c.PreparedQuery().Execute(id, &api.QueryOptions{AllowStale: true})
			b, _, err2 := c.PreparedQuery().Execute("any-web", &api.QueryOptions{AllowStale: true})
			return err1 == nil && err2 == nil && len(a.Nodes) == 1 && len(b.Nodes) == 1
		})
	}

	// A client agent asks the servers, over HTTP and DNS.
	agent := startClientAgent(t)
	host, port := ds[0].Gossip.LocalAddr()
	if _, err := agent.Join([]string{net.JoinHostPort(host, strconv.Itoa(port))}); err != nil {
		t.Fatal(err)
	}
	ac := client(agent)
	waitfor.Until(t, 20*time.Second, "the client agent to execute the query", func() bool {
		res, _, err := ac.PreparedQuery().Execute("web-q", nil)
		return err == nil && len(res.Nodes) == 1
	})
	if defs, _, err := ac.PreparedQuery().Get(id, nil); err != nil || len(defs) != 1 || defs[0].Name != "web-q" {
		t.Fatalf("get through the client agent: %+v %v", defs, err)
	}
	m, _, err := new(dns.Client).Exchange(new(dns.Msg).SetQuestion("web-q.query.consul.", dns.TypeA), agent.DNSAddrs()[0].String())
	if err != nil || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "10.0.0.1" {
		t.Fatalf("DNS through the client agent: %v %v", m, err)
	}

	dataDir := t.TempDir()
	d, c := startServer(t, dataDir, "")
	if _, _, err := c.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "kept", Service: api.ServiceQuery{Service: "web"},
		DNS: api.QueryDNSOptions{TTL: "7s"}}, nil); err != nil {
		t.Fatal(err)
	}
	d.Shutdown()
	_, c2 := startServer(t, dataDir, "")
	waitfor.Until(t, 20*time.Second, "the query after a restart", func() bool {
		defs, _, err := c2.PreparedQuery().List(nil)
		return err == nil && len(defs) == 1 && defs[0].Name == "kept" && defs[0].DNS.TTL == "7s"
	})
}
