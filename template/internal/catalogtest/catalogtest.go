// Package catalogtest fills a test agent with the catalog and KV data that
// the template tests render: the services, nodes and keys of the seed
// articles' examples, on fixed node names and addresses so that rendered
// output is the same on every run.
package catalogtest

import (
	"testing"

	"github.com/hashicorp/consul/api"
)

// Instance is one service instance on a catalog node.
type Instance struct {
	Node, Address     string
	ID, Name          string
	Port              int
	Tags              []string
	Meta              map[string]string
	ServiceAddress    string
	Status            string // of one service check; "" for none
	EnableTagOverride bool
}

// Instances is the standard catalog.
var Instances = []Instance{
	{Node: "node-a", Address: "10.0.0.1", ID: "nginx", Name: "nginx", Port: 80, Tags: []string{"web"}},
	{Node: "node-a", Address: "10.0.0.1", ID: "web1", Name: "web", Port: 8080, Tags: []string{"v1", "prod"}, Meta: map[string]string{"env": "prod", "shard": "1"}},
	{Node: "node-b", Address: "10.0.0.2", ID: "web2", Name: "web", Port: 8080, Tags: []string{"v1", "release"}, Meta: map[string]string{"env": "prod", "shard": "2"}, Status: "warning"},
	{Node: "node-c", Address: "10.0.0.3", ID: "web3", Name: "web", Port: 8081, Tags: []string{"v2"}, Meta: map[string]string{"env": "dev"}, Status: "critical"},
	{Node: "node-b", Address: "10.0.0.2", ID: "gw", Name: "Api-Gateway-v2", Port: 9000, Tags: []string{"calico"}, ServiceAddress: "172.16.0.20"},
	{Node: "node-c", Address: "10.0.0.3", ID: "billing-1", Name: "billing-svc", Port: 7000, Tags: []string{"calico", "prod"}},
	{Node: "node-c", Address: "10.0.0.3", ID: "billing-2", Name: "billing-svc", Port: 7001, Tags: []string{"calico"}},
	{Node: "node-b", Address: "10.0.0.2", ID: "redis", Name: "redis", Port: 6379, Tags: []string{"primary"}},
	{Node: "node-c", Address: "10.0.0.3", ID: "broken", Name: "broken", Port: 1, Status: "critical"},
}

// KV is the standard key/value data.
var KV = map[string]string{
	"master/test":                       "test_data3",
	"service/redis/maxconns":            "15",
	"service/redis/minconns":            "5",
	"service/redis/nested/config/value": `"value"`,
	"groups/elasticsearch/es1":          "1",
	"groups/elasticsearch/es2":          "1",
	"groups/elasticsearch/es3":          "1",
	"config/admin/port":                 "1234",
	"config/maxconns":                   "5",
	"config/minconns":                   "2",
	"app/beta_active":                   "true",
	"user/info":                         `{"name":"ann","roles":["admin","ops"]}`,
	"weights/node-a":                    "50",
}

// Seed registers Instances and writes KV through c.
func Seed(t testing.TB, c *api.Client) {
	t.Helper()
	for _, in := range Instances {
		Register(t, c, in)
	}
	for k, v := range KV {
		if _, err := c.KV().Put(&api.KVPair{Key: k, Value: []byte(v)}, nil); err != nil {
			t.Fatalf("kv put %s: %v", k, err)
		}
	}
}

// Register puts one instance in the catalog.
func Register(t testing.TB, c *api.Client, in Instance) {
	t.Helper()
	reg := &api.CatalogRegistration{
		Node: in.Node, Address: in.Address,
		TaggedAddresses: map[string]string{"lan": in.Address},
		NodeMeta:        map[string]string{"rack": "r1"},
		Service: &api.AgentService{
			ID: in.ID, Service: in.Name, Port: in.Port, Tags: in.Tags, Meta: in.Meta,
			Address: in.ServiceAddress, EnableTagOverride: in.EnableTagOverride,
		},
	}
	if in.Status != "" {
		reg.Checks = api.HealthChecks{{
			Node: in.Node, CheckID: "check-" + in.ID, Name: "check " + in.ID,
			Status: in.Status, ServiceID: in.ID,
		}}
	}
	if _, err := c.Catalog().Register(reg, nil); err != nil {
		t.Fatalf("register %s: %v", in.ID, err)
	}
}
