package http_test

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/testagent"
)

// The expectations of the official client's TestAPI_ClientTxn and
// TestAPI_ClientTxnWrite (api@v1.33.2/txn_test.go), against beacon.

func TestTxnOfficialClientTxn(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	nodeID := structs.GenerateUUID()
	reg := &api.CatalogRegistration{
		ID: nodeID, Node: "foo", Address: "2.2.2.2",
		TaggedAddresses: map[string]string{"wlan": "2.2.2.2"},
		NodeMeta:        map[string]string{"n1": "v1"},
		Service: &api.AgentService{
			ID: "foo1", Service: "foo", Address: "2.2.2.2", Port: 12345,
			TaggedAddresses: map[string]api.ServiceAddress{"wlan": {Address: "2.2.2.2", Port: 12345}},
			Tags:            []string{"tag1", "tag2"},
			Meta:            map[string]string{"s1": "v1"},
		},
		Checks: api.HealthChecks{
			{CheckID: "bar", Status: "critical", Definition: api.HealthCheckDefinition{
				TCP: "1.1.1.1", IntervalDuration: 5 * time.Second, TimeoutDuration: 10 * time.Second,
				DeregisterCriticalServiceAfterDuration: 20 * time.Second}},
			{CheckID: "baz", Status: "passing", Definition: api.HealthCheckDefinition{
				TCP: "2.2.2.2", Interval: api.ReadableDuration(40 * time.Second), Timeout: api.ReadableDuration(80 * time.Second),
				DeregisterCriticalServiceAfter: api.ReadableDuration(160 * time.Second)}},
			{CheckID: "bor", Status: "critical", Type: "udp", Definition: api.HealthCheckDefinition{
				UDP: "1.1.1.1", Interval: api.ReadableDuration(5 * time.Second), Timeout: api.ReadableDuration(10 * time.Second),
				DeregisterCriticalServiceAfter: api.ReadableDuration(20 * time.Second)}},
			{CheckID: "bur", Status: "passing", Type: "udp", Definition: api.HealthCheckDefinition{
				UDP: "2.2.2.2", Interval: api.ReadableDuration(5 * time.Second), Timeout: api.ReadableDuration(10 * time.Second),
				DeregisterCriticalServiceAfter: api.ReadableDuration(20 * time.Second)}},
		},
	}
	_, err := c.Catalog().Register(reg, nil)
	txnNoErr(t, err)
	node, _, err := c.Catalog().Node("foo", nil)
	txnNoErr(t, err)
	txnEqual(t, nodeID, node.Node.ID)

	id, _, err := c.Session().CreateNoChecks(nil, nil)
	txnNoErr(t, err)
	defer c.Session().Destroy(id, nil)

	key := "txn/" + structs.GenerateUUID()
	ops := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVLock, Key: key, Value: []byte("test")}},
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: key}},
		{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: "foo"}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceGet, Node: "foo", Service: api.AgentService{ID: "foo1"}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckGet, Check: api.HealthCheck{Node: "foo", CheckID: "bar"}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckGet, Check: api.HealthCheck{Node: "foo", CheckID: "baz"}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckGet, Check: api.HealthCheck{Node: "foo", CheckID: "bor"}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckGet, Check: api.HealthCheck{Node: "foo", CheckID: "bur"}}},
	}
	// Without a session, the lock fails, and so does the get of the key
	// it would have written: two errors, no results.
	ok, ret, _, err := c.Txn().Txn(ops, nil)
	txnNoErr(t, err)
	if ok {
		t.Fatal("transaction should have failed")
	}
	if ret == nil {
		t.Fatal("no response")
	}
	txnEqual(t, 2, len(ret.Errors))
	txnEqual(t, 0, len(ret.Results))
	txnEqual(t, 0, ret.Errors[0].OpIndex)
	txnHas(t, ret.Errors[0].What, "missing session")
	txnEqual(t, 1, ret.Errors[1].OpIndex)
	txnHas(t, ret.Errors[1].What, "doesn't exist")

	ops[0].KV.Session = id
	ok, ret, _, err = c.Txn().Txn(ops, nil)
	txnNoErr(t, err)
	if !ok {
		t.Fatalf("transaction failed: %v", ret)
	}
	txnEqual(t, 0, len(ret.Errors))
	txnEqual(t, 8, len(ret.Results))
	def := func(kind, target string, interval, timeout, dereg time.Duration) api.HealthCheckDefinition {
		d := api.HealthCheckDefinition{
			Interval: api.ReadableDuration(interval), IntervalDuration: interval,
			Timeout: api.ReadableDuration(timeout), TimeoutDuration: timeout,
			DeregisterCriticalServiceAfter: api.ReadableDuration(dereg), DeregisterCriticalServiceAfterDuration: dereg,
		}
		if kind == "tcp" {
			d.TCP = target
		} else {
			d.UDP = target
		}
		return d
	}
	check := func(id, status, kind, target string, interval, timeout, dereg time.Duration) *api.TxnResult {
		return &api.TxnResult{Check: &api.HealthCheck{
			Node: "foo", CheckID: id, Status: status, Type: kind,
			Definition:  def(kind, target, interval, timeout, dereg),
			CreateIndex: ret.Results[4].Check.CreateIndex, ModifyIndex: ret.Results[4].Check.CreateIndex,
		}}
	}
	expected := api.TxnResults{
		{KV: &api.KVPair{Key: key, Session: id, LockIndex: 1,
			CreateIndex: ret.Results[0].KV.CreateIndex, ModifyIndex: ret.Results[0].KV.ModifyIndex}},
		{KV: &api.KVPair{Key: key, Session: id, Value: []byte("test"), LockIndex: 1,
			CreateIndex: ret.Results[1].KV.CreateIndex, ModifyIndex: ret.Results[1].KV.ModifyIndex}},
		{Node: &api.Node{ID: nodeID, Node: "foo", Address: "2.2.2.2",
			TaggedAddresses: map[string]string{"wlan": "2.2.2.2"}, Meta: map[string]string{"n1": "v1"},
			Datacenter: "dc1", CreateIndex: ret.Results[2].Node.CreateIndex, ModifyIndex: ret.Results[2].Node.CreateIndex}},
		{Service: &api.AgentService{ID: "foo1", Service: "foo", Port: 12345, Address: "2.2.2.2",
			TaggedAddresses: map[string]api.ServiceAddress{"wlan": {Address: "2.2.2.2", Port: 12345}},
			Tags:            []string{"tag1", "tag2"}, Meta: map[string]string{"s1": "v1"},
			CreateIndex: ret.Results[3].Service.CreateIndex, ModifyIndex: ret.Results[3].Service.CreateIndex,
			Weights: api.AgentWeights{Passing: 1, Warning: 1},
			Proxy:   &api.AgentServiceConnectProxyConfig{}, Connect: &api.AgentServiceConnect{}}},
		check("bar", "critical", "tcp", "1.1.1.1", 5*time.Second, 10*time.Second, 20*time.Second),
		check("baz", "passing", "tcp", "2.2.2.2", 40*time.Second, 80*time.Second, 160*time.Second),
		check("bor", "critical", "udp", "1.1.1.1", 5*time.Second, 10*time.Second, 20*time.Second),
		check("bur", "passing", "udp", "2.2.2.2", 5*time.Second, 10*time.Second, 20*time.Second),
	}
	txnEqual(t, expected, ret.Results)

	// A read-only transaction, answered without the log: the key and
	// the agent's own node.
	self, _, err := c.Catalog().Node(a.Agent.Node().Node, nil)
	txnNoErr(t, err)
	ops = api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: key}},
		{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{ID: self.Node.ID, Node: self.Node.Node}}},
	}
	ok, ret, meta, err := c.Txn().Txn(ops, nil)
	txnNoErr(t, err)
	if !ok {
		t.Fatalf("read-only transaction failed: %v", ret)
	}
	if !meta.KnownLeader {
		t.Error("X-Consul-KnownLeader is not true")
	}
	txnEqual(t, api.TxnResults{
		{KV: &api.KVPair{Key: key, Session: id, Value: []byte("test"), LockIndex: 1,
			CreateIndex: ret.Results[0].KV.CreateIndex, ModifyIndex: ret.Results[0].KV.ModifyIndex}},
		{Node: self.Node},
	}, ret.Results)

	pair, kvMeta, err := c.KV().Get(key, nil)
	txnNoErr(t, err)
	if pair == nil {
		t.Fatal("the key is gone")
	}
	txnEqual(t, uint64(1), pair.LockIndex)
	txnEqual(t, id, pair.Session)
	if kvMeta.LastIndex == 0 {
		t.Error("X-Consul-Index is 0")
	}
}

func TestTxnOfficialClientTxnWrite(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	ops := []*api.TxnOp{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "k1"}},
		{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: api.Node{Node: "n1", Address: "1.1.1.1",
			TaggedAddresses: map[string]string{"wlan": "1.1.1.1"}, Meta: map[string]string{"n1": "v1"}}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "n1", Service: api.AgentService{
			ID: "s1", Service: "s1", Port: 12345, Address: "1.1.1.1",
			TaggedAddresses: map[string]api.ServiceAddress{"wlan": {Address: "1.1.1.1", Port: 12345}},
			Tags:            []string{"tag1", "tag2"}, Meta: map[string]string{"s1": "v1"}}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{
			Node: "n1", CheckID: "c1", ServiceID: "s1", ServiceName: "s1", ServiceTags: []string{"tag1", "tag2"},
			Type: "tcp", Status: "passing", Definition: api.HealthCheckDefinition{TCP: "1.1.1.1",
				Interval: api.ReadableDuration(40 * time.Second), Timeout: api.ReadableDuration(80 * time.Second),
				DeregisterCriticalServiceAfter: api.ReadableDuration(160 * time.Second)}}}},
	}
	ok, first, _, err := c.Txn().Txn(ops, &api.QueryOptions{})
	txnNoErr(t, err)
	if !ok {
		t.Fatalf("transaction failed: %v", first)
	}
	txnEqual(t, 0, len(first.Errors))
	txnEqual(t, 4, len(first.Results))
	def := func(kind, target string) api.HealthCheckDefinition {
		d := api.HealthCheckDefinition{
			Interval: api.ReadableDuration(40 * time.Second), IntervalDuration: 40 * time.Second,
			Timeout: api.ReadableDuration(80 * time.Second), TimeoutDuration: 80 * time.Second,
			DeregisterCriticalServiceAfter:         api.ReadableDuration(160 * time.Second),
			DeregisterCriticalServiceAfterDuration: 160 * time.Second,
		}
		if kind == "tcp" {
			d.TCP = target
		} else {
			d.HTTP = target
		}
		return d
	}
	txnEqual(t, api.TxnResults{
		{KV: &api.KVPair{Key: "k1", CreateIndex: first.Results[0].KV.CreateIndex, ModifyIndex: first.Results[0].KV.ModifyIndex}},
		{Node: &api.Node{Node: "n1", Address: "1.1.1.1", TaggedAddresses: map[string]string{"wlan": "1.1.1.1"},
			Meta: map[string]string{"n1": "v1"}, Datacenter: "dc1",
			CreateIndex: first.Results[1].Node.CreateIndex, ModifyIndex: first.Results[1].Node.ModifyIndex}},
		{Service: &api.AgentService{ID: "s1", Service: "s1", Port: 12345, Address: "1.1.1.1",
			TaggedAddresses: map[string]api.ServiceAddress{"wlan": {Address: "1.1.1.1", Port: 12345}},
			Tags:            []string{"tag1", "tag2"}, Meta: map[string]string{"s1": "v1"},
			CreateIndex: first.Results[2].Service.CreateIndex, ModifyIndex: first.Results[2].Service.ModifyIndex,
			Weights: api.AgentWeights{Passing: 1, Warning: 1},
			Proxy:   &api.AgentServiceConnectProxyConfig{}, Connect: &api.AgentServiceConnect{}}},
		{Check: &api.HealthCheck{Node: "n1", CheckID: "c1", ServiceID: "s1", ServiceName: "s1",
			ServiceTags: []string{"tag1", "tag2"}, Status: "passing", Definition: def("tcp", "1.1.1.1"), Type: "tcp",
			CreateIndex: first.Results[3].Check.CreateIndex, ModifyIndex: first.Results[3].Check.ModifyIndex}},
	}, first.Results)

	ops = []*api.TxnOp{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "k2"}},
		{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: "k1"}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "n1", Service: api.AgentService{
			ID: "s2", Service: "s2", Port: 23456, Address: "1.1.1.1",
			TaggedAddresses: map[string]api.ServiceAddress{"wlan": {Address: "1.1.1.1", Port: 23456}},
			Tags:            []string{"tag3"}, Meta: map[string]string{"s2": "v2"}}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{
			Node: "n1", CheckID: "c2", ServiceID: "s2", ServiceName: "s2", ServiceTags: []string{"tag3"},
			Type: "http", Status: "critical", Definition: api.HealthCheckDefinition{HTTP: "1.1.1.1",
				Interval: api.ReadableDuration(40 * time.Second), Timeout: api.ReadableDuration(80 * time.Second),
				DeregisterCriticalServiceAfter: api.ReadableDuration(160 * time.Second)}}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceDelete, Node: "n1", Service: api.AgentService{ID: "s1", Service: "s1"}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckDelete, Check: api.HealthCheck{Node: "n1", CheckID: "c1", ServiceID: "s1", ServiceName: "s1"}}},
	}
	ok, second, _, err := c.Txn().Txn(ops, &api.QueryOptions{})
	txnNoErr(t, err)
	if !ok {
		t.Fatalf("transaction failed: %v", second)
	}
	txnEqual(t, 0, len(second.Errors))
	txnEqual(t, 3, len(second.Results))
	svc2 := &api.AgentService{ID: "s2", Service: "s2", Port: 23456, Address: "1.1.1.1",
		TaggedAddresses: map[string]api.ServiceAddress{"wlan": {Address: "1.1.1.1", Port: 23456}},
		Tags:            []string{"tag3"}, Meta: map[string]string{"s2": "v2"},
		CreateIndex: second.Results[1].Service.CreateIndex, ModifyIndex: second.Results[1].Service.ModifyIndex,
		Weights: api.AgentWeights{Passing: 1, Warning: 1},
		Proxy:   &api.AgentServiceConnectProxyConfig{}, Connect: &api.AgentServiceConnect{}}
	check2 := &api.HealthCheck{Node: "n1", CheckID: "c2", ServiceID: "s2", ServiceName: "s2",
		ServiceTags: []string{"tag3"}, Status: "critical", Definition: def("http", "1.1.1.1"), Type: "http",
		CreateIndex: second.Results[2].Check.CreateIndex, ModifyIndex: second.Results[2].Check.ModifyIndex}
	txnEqual(t, api.TxnResults{
		{KV: &api.KVPair{Key: "k2", CreateIndex: second.Results[0].KV.CreateIndex, ModifyIndex: second.Results[0].KV.ModifyIndex}},
		{Service: svc2},
		{Check: check2},
	}, second.Results)

	pairs, _, err := c.KV().List("", nil)
	txnNoErr(t, err)
	txnEqual(t, api.KVPairs{{Key: "k2", CreateIndex: second.Results[0].KV.CreateIndex,
		ModifyIndex: second.Results[0].KV.ModifyIndex}}, pairs)

	services, _, err := c.Catalog().Services(nil)
	txnNoErr(t, err)
	txnEqual(t, []string{"tag3"}, services["s2"])
	if _, ok := services["s1"]; ok {
		t.Errorf("s1 still listed: %v", services)
	}

	entries, _, err := c.Health().Service("s2", "", false, nil)
	txnNoErr(t, err)
	txnEqual(t, 1, len(entries))
	txnEqual(t, &api.Node{Node: "n1", Address: "1.1.1.1", TaggedAddresses: map[string]string{"wlan": "1.1.1.1"},
		Meta: map[string]string{"n1": "v1"}, Datacenter: "dc1",
		CreateIndex: first.Results[1].Node.CreateIndex, ModifyIndex: first.Results[1].Node.ModifyIndex}, entries[0].Node)
	svc2.Partition, svc2.Namespace = "", ""
	txnEqual(t, svc2, entries[0].Service)
	txnEqual(t, api.HealthChecks{check2}, entries[0].Checks)
}
