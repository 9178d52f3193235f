package http_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

func kvTxn(verb api.KVOp, key, val string, index uint64, session string) *api.TxnOp {
	op := &api.KVTxnOp{Verb: verb, Key: key, Index: index, Session: session}
	if val != "" {
		op.Value = []byte(val)
	}
	return &api.TxnOp{KV: op}
}

// txnOK runs a transaction that must apply and returns its results.
func txnOK(t *testing.T, c *api.Client, ops ...*api.TxnOp) api.TxnResults {
	t.Helper()
	ok, resp, _, err := c.Txn().Txn(ops, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		for _, e := range resp.Errors {
			t.Errorf("operation %d: %s", e.OpIndex, e.What)
		}
		t.FailNow()
	}
	return resp.Results
}

// txnFails runs a transaction that must be rolled back and returns its
// errors as "index: what" lines.
func txnFails(t *testing.T, c *api.Client, ops ...*api.TxnOp) []string {
	t.Helper()
	ok, resp, _, err := c.Txn().Txn(ops, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok || len(resp.Results) != 0 || len(resp.Errors) == 0 {
		t.Fatalf("applied: ok=%v %+v", ok, resp)
	}
	var out []string
	for _, e := range resp.Errors {
		out = append(out, fmt.Sprintf("%d: %s", e.OpIndex, e.What))
	}
	return out
}

// Every KV verb of a transaction does what Consul's does, and a failed
// check fails the whole transaction.
func TestTxnKVVerbs(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	sess, _, err := c.Session().CreateNoChecks(nil, nil)
	txnNoErr(t, err)
	res := txnOK(t, c,
		kvTxn(api.KVSet, "t/a", "1", 0, ""),
		kvTxn(api.KVCAS, "t/b", "2", 0, ""), // 0: only if it does not exist
		kvTxn(api.KVLock, "t/lock", "held", 0, sess),
		kvTxn(api.KVGet, "t/a", "", 0, ""),
		kvTxn(api.KVGetOrEmpty, "t/none", "", 0, ""),
		kvTxn(api.KVCheckNotExists, "t/none", "", 0, ""),
	)
	if len(res) != 5 {
		t.Fatalf("%d results, want 5 (check-not-exists returns none)", len(res))
	}
	set, cas, lock, get, empty := res[0].KV, res[1].KV, res[2].KV, res[3].KV, res[4].KV
	if set.Value != nil || cas.Value != nil || lock.Value != nil || string(get.Value) != "1" {
		t.Errorf("values: set %q cas %q lock %q get %q; only a get answers the value", set.Value, cas.Value, lock.Value, get.Value)
	}
	if lock.Session != sess || lock.LockIndex != 1 || empty.Key != "t/none" || empty.Value != nil || empty.ModifyIndex != 0 {
		t.Errorf("lock %+v, get-or-empty %+v", lock, empty)
	}
	idx := set.ModifyIndex
	if cas.ModifyIndex != idx || lock.ModifyIndex != idx {
		t.Errorf("indexes %d %d %d: one transaction, one index", idx, cas.ModifyIndex, lock.ModifyIndex)
	}

	res = txnOK(t, c,
		kvTxn(api.KVCheckIndex, "t/a", "", idx, ""),
		kvTxn(api.KVCheckSession, "t/lock", "", 0, sess),
		kvTxn(api.KVCAS, "t/a", "1b", idx, ""),
		kvTxn(api.KVUnlock, "t/lock", "free", 0, sess),
		kvTxn(api.KVGetTree, "t/", "", 0, ""),
	)
	if len(res) != 7 || res[0].KV.Key != "t/a" || res[0].KV.Value != nil {
		t.Fatalf("results: %d, first %+v", len(res), res[0].KV)
	}
	tree := map[string]string{}
	for _, r := range res[4:] {
		tree[r.KV.Key] = string(r.KV.Value)
	}
	if tree["t/a"] != "1b" || tree["t/b"] != "2" || tree["t/lock"] != "free" || res[3].KV.Session != "" {
		t.Errorf("get-tree after cas and unlock: %v, unlock %+v", tree, res[3].KV)
	}
	cur := res[2].KV.ModifyIndex

	lines := txnFails(t, c,
		kvTxn(api.KVDelete, "t/a", "", 0, ""),
		kvTxn(api.KVCheckIndex, "t/b", "", cur+100, ""),
		kvTxn(api.KVCheckSession, "t/lock", "", 0, sess),
		kvTxn(api.KVCheckNotExists, "t/b", "", 0, ""),
		kvTxn(api.KVCAS, "t/b", "x", 0, ""),
		kvTxn(api.KVDeleteCAS, "t/b", "", 1, ""),
		kvTxn(api.KVUnlock, "t/lock", "", 0, sess),
		kvTxn(api.KVGet, "t/a", "", 0, ""),
		kvTxn("bogus", "t/a", "", 0, ""),
	)
	want := []string{
		`1: current modify index ` + fmt.Sprint(res[5].KV.ModifyIndex) + ` != ` + fmt.Sprint(cur+100),
		`2: current session "" != "` + sess + `"`,
		`3: key "t/b" exists`,
		`4: failed to set key "t/b", index is stale`,
		`5: failed to delete key "t/b", index is stale`,
		`6: failed to unlock key "t/lock", lock isn't held, or is held by another session`,
		`7: key "t/a" doesn't exist`,
		`8: unknown KV verb "bogus"`,
	}
	txnEqual(t, want, lines)
	if p, _, _ := c.KV().Get("t/a", nil); p == nil {
		t.Fatal("a rolled-back delete deleted t/a")
	}

	txnOK(t, c,
		kvTxn(api.KVDeleteCAS, "t/a", "", cur, ""),
		kvTxn(api.KVDelete, "t/lock", "", 0, ""),
		kvTxn(api.KVDeleteTree, "t/b", "", 0, ""),
	)
	if keys, _, _ := c.KV().Keys("t/", "", nil); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
}

// Node, service and check verbs, with their cas and delete-cas.
func TestTxnCatalogVerbs(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	node := api.Node{Node: "n1", Address: "10.0.0.1"}
	svc := api.AgentService{ID: "web-1", Service: "web", Port: 80}
	check := api.HealthCheck{Node: "n1", CheckID: "web-ok", ServiceID: "web-1", ServiceName: "web", Status: "passing"}
	res := txnOK(t, c,
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: node}},
		&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "n1", Service: svc}},
		&api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: check}},
	)
	n, s, ch := res[0].Node, res[1].Service, res[2].Check
	if n.Datacenter != "dc1" || s.Weights.Passing != 1 || ch.ServiceName != "web" {
		t.Fatalf("set results: %+v %+v %+v", n, s, ch)
	}
	entries, _, err := c.Health().Service("web", "", true, nil)
	txnNoErr(t, err)
	if len(entries) != 1 || entries[0].Node.Address != "10.0.0.1" || len(entries[0].Checks) != 1 {
		t.Fatalf("health of web: %+v", entries)
	}

	stale := txnFails(t, c,
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeCAS, Node: api.Node{Node: "n1", Address: "10.0.0.2", ModifyIndex: n.ModifyIndex + 1}}},
		&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceCAS, Node: "n1", Service: api.AgentService{ID: "web-1", Service: "web", Port: 81}}},
		&api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckDeleteCAS, Check: api.HealthCheck{Node: "n1", CheckID: "web-ok", ModifyIndex: 1}}},
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: "n2"}}},
		&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceGet, Node: "n1", Service: api.AgentService{ID: "nope"}}},
		&api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckGet, Check: api.HealthCheck{Node: "n1", CheckID: "nope"}}},
	)
	txnEqual(t, []string{
		`0: failed to set node "n1", index is stale`,
		`1: failed to set service "web-1" on node "n1", index is stale`,
		`2: failed to delete check "web-ok" on node "n1", index is stale`,
		`3: node "n2" doesn't exist`,
		`4: service "nope" on node "n1" doesn't exist`,
		`5: check "nope" on node "n1" doesn't exist`,
	}, stale)
	// Errors found before the store (arguments, rights) are reported
	// alone: the transaction does not reach the store.
	txnEqual(t, []string{`1: unknown node operation "rename": want get, set, cas, delete or delete-cas`}, txnFails(t, c,
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: "n2"}}},
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: "rename", Node: api.Node{Node: "n1"}}}))

	res = txnOK(t, c,
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeCAS, Node: api.Node{Node: "n1", Address: "10.0.0.2", ModifyIndex: n.ModifyIndex}}},
		&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceCAS, Node: "n1", Service: api.AgentService{ID: "web-1", Service: "web", Port: 81, ModifyIndex: s.ModifyIndex}}},
		&api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckCAS, Check: api.HealthCheck{Node: "n1", CheckID: "web-ok", ServiceID: "web-1", Status: "critical", ModifyIndex: ch.ModifyIndex}}},
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: "n1"}}},
		&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceGet, Node: "n1", Service: api.AgentService{ID: "web-1"}}},
		&api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckGet, Check: api.HealthCheck{Node: "n1", CheckID: "web-ok"}}},
	)
	if res[3].Node.Address != "10.0.0.2" || res[4].Service.Port != 81 || res[5].Check.Status != "critical" {
		t.Fatalf("after cas: %+v %+v %+v", res[3].Node, res[4].Service, res[5].Check)
	}
	if entries, _, _ := c.Health().Service("web", "", true, nil); len(entries) != 0 {
		t.Fatalf("web passing after its check went critical: %+v", entries)
	}

	txnOK(t, c,
		&api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckDeleteCAS, Check: api.HealthCheck{Node: "n1", CheckID: "web-ok", ModifyIndex: res[5].Check.ModifyIndex}}},
		&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceDeleteCAS, Node: "n1", Service: api.AgentService{ID: "web-1", Service: "web", ModifyIndex: res[4].Service.ModifyIndex}}},
	)
	txnOK(t, c, &api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeDeleteCAS, Node: api.Node{Node: "n1", ModifyIndex: res[3].Node.ModifyIndex}}})
	if n, _, _ := c.Catalog().Node("n1", nil); n != nil {
		t.Fatalf("n1 still registered: %+v", n.Node)
	}
	txnOK(t, c,
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: node}},
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeDelete, Node: node}},
		&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceDelete, Node: "n1", Service: svc}},
		&api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckDelete, Check: check}},
	)
}

// A session delete ends the session and frees its locks, as
// /v1/session/destroy does.
func TestTxnSessionDelete(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	sess, _, err := c.Session().CreateNoChecks(&api.SessionEntry{LockDelay: 1}, nil)
	txnNoErr(t, err)
	txnOK(t, c, kvTxn(api.KVLock, "held", "v", 0, sess))
	body := fmt.Sprintf(`[{"Session":{"Verb":"delete","Session":{"ID":%q}}},{"KV":{"Verb":"get","Key":"held"}}]`, sess)
	code, out := do(t, "PUT", a.URL("/v1/txn"), "", body)
	// The get after the delete sees the lock freed.
	if code != 200 || strings.Contains(out, sess) || !strings.Contains(out, `"Key":"held"`) {
		t.Fatalf("session delete: %d %s", code, out)
	}
	if s, _, _ := c.Session().Info(sess, nil); s != nil {
		t.Fatalf("the session is still there: %+v", s)
	}
}

// A failed transaction answers 409 with Results null and one error per
// failed operation, and applies none of its operations.
func TestTxnRollbackAnswer(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	_, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("old")}, nil)
	txnNoErr(t, err)
	body := `[{"KV":{"Verb":"set","Key":"k","Value":"bmV3"}},` +
		`{"Node":{"Verb":"set","Node":{"Node":"n9","Address":"10.0.0.9"}}},` +
		`{"KV":{"Verb":"cas","Key":"k","Value":"eA==","Index":1}}]`
	code, out := do(t, "PUT", a.URL("/v1/txn"), "", body)
	if code != 409 || out != `{"Results":null,"Errors":[{"OpIndex":2,"What":"failed to set key \"k\", index is stale"}]}` {
		t.Fatalf("answer: %d %s", code, out)
	}
	if p, _, _ := c.KV().Get("k", nil); string(p.Value) != "old" {
		t.Fatalf("k is %q", p.Value)
	}
	if n, _, _ := c.Catalog().Node("n9", nil); n != nil {
		t.Fatal("n9 was registered by a failed transaction")
	}
	code, out = do(t, "PUT", a.URL("/v1/txn"), "", `[{"KV":{"Verb":"set","Key":"k","Value":"bmV3"}}]`)
	if code != 200 || !strings.HasPrefix(out, `{"Results":[{"KV":{"LockIndex":0,"Key":"k","Flags":0,"Value":null,`) || !strings.HasSuffix(out, `}}],"Errors":null}`) {
		t.Fatalf("answer: %d %s", code, out)
	}
}

// Each operation is checked with the right its own endpoint needs: a
// denied one fails the transaction (409), nothing applied; reads leave out
// what the token may not see.
func TestTxnACL(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`acl {
  enabled = true
  default_policy = "deny"
  tokens { initial_management = "root" }
}`))
	root := tokenClient(t, a, "root")
	p, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "app", Rules: `key_prefix "app/" { policy = "write" }
node_prefix "" { policy = "read" }`}, nil)
	txnNoErr(t, err)
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: p.ID}}}, nil)
	txnNoErr(t, err)
	app := tokenClient(t, a, tok.SecretID)
	_, err = root.KV().Put(&api.KVPair{Key: "secret/x", Value: []byte("s")}, nil)
	txnNoErr(t, err)

	lines := txnFails(t, app,
		kvTxn(api.KVSet, "app/a", "1", 0, ""),
		kvTxn(api.KVSet, "secret/y", "2", 0, ""),
		kvTxn(api.KVCheckIndex, "secret/x", "", 1, ""),
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: api.Node{Node: "n1", Address: "10.0.0.1"}}},
		&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: a.Agent.Node().Node, Service: api.AgentService{Service: "db"}}},
	)
	want := []string{
		fmt.Sprintf(`1: Permission denied: token with AccessorID '%s' lacks permission 'key:write' on "secret/y"`, tok.AccessorID),
		fmt.Sprintf(`2: Permission denied: token with AccessorID '%s' lacks permission 'key:read' on "secret/x"`, tok.AccessorID),
		fmt.Sprintf(`3: Permission denied: token with AccessorID '%s' lacks permission 'node:write' on "n1"`, tok.AccessorID),
		fmt.Sprintf(`4: Permission denied: token with AccessorID '%s' lacks permission 'service:write' on "db"`, tok.AccessorID),
	}
	txnEqual(t, want, lines)
	if p, _, _ := root.KV().Get("app/a", nil); p != nil {
		t.Fatal("app/a written by a denied transaction")
	}
	// Reads: a get-tree leaves out the keys the token may not read.
	txnOK(t, app, kvTxn(api.KVSet, "app/a", "1", 0, ""))
	ok, resp, meta, err := app.Txn().Txn(api.TxnOps{kvTxn(api.KVGetTree, "", "", 0, "")}, nil)
	if err == nil && ok {
		t.Fatalf("get-tree of the root: %+v", resp.Results)
	}
	ok, resp, meta, err = app.Txn().Txn(api.TxnOps{kvTxn(api.KVGetTree, "a", "", 0, ""), kvTxn(api.KVGetTree, "s", "", 0, ""),
		&api.TxnOp{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: a.Agent.Node().Node}}}}, nil)
	txnNoErr(t, err)
	if !ok || len(resp.Results) != 2 || resp.Results[0].KV.Key != "app/a" || resp.Results[1].Node == nil || !meta.ResultsFilteredByACLs {
		t.Fatalf("filtered read: ok=%v %+v, filtered=%v", ok, resp, meta.ResultsFilteredByACLs)
	}
	// A large read-only transaction (its body is admitted from its head)
	// needs no write right at all.
	rp, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "reader", Rules: `key_prefix "" { policy = "read" }`}, nil)
	txnNoErr(t, err)
	rt, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: rp.ID}}}, nil)
	txnNoErr(t, err)
	var reads api.TxnOps
	for i := 0; i < 128; i++ {
		reads = append(reads, kvTxn(api.KVGetOrEmpty, fmt.Sprintf("app/%0600d", i), "", 0, ""))
	}
	// (get-or-empty needs key:write, as in Consul.)
	ok, resp, _, err = tokenClient(t, a, rt.SecretID).Txn().Txn(reads, nil)
	if err != nil || ok || len(resp.Errors) != 128 || !strings.Contains(resp.Errors[0].What, "key:write") {
		t.Fatalf("get-or-empty with a read-only token: %v %v %+v", ok, err, resp)
	}
	for _, op := range reads {
		op.KV.Verb = api.KVGet
	}
	ok, resp, _, err = tokenClient(t, a, rt.SecretID).Txn().Txn(reads, nil)
	if err != nil || ok || len(resp.Errors) != 128 || !strings.Contains(resp.Errors[0].What, "doesn't exist") {
		t.Fatalf("a large read-only transaction: %v %v %+v", ok, err, resp)
	}
	// A token that does not resolve is refused outright.
	code, out := do(t, "PUT", a.URL("/v1/txn"), "no-such-token", `[{"KV":{"Verb":"get","Key":"app/a"}}]`)
	if code != 403 || !strings.Contains(out, "ACL not found") {
		t.Fatalf("unknown token: %d %s", code, out)
	}
}

// A transaction of reads and checks only is answered from the store
// without the log, with the leader headers and ?stale; it cannot block.
func TestTxnReadOnly(t *testing.T) {
	a := testagent.Start(t)
	_, err := a.Client.KV().Put(&api.KVPair{Key: "r", Value: []byte("v")}, nil)
	txnNoErr(t, err)
	before := a.Server.Store().LatestIndex()
	body := `[{"KV":{"Verb":"get","Key":"r"}},{"KV":{"Verb":"check-not-exists","Key":"s"}}]`
	for _, q := range []string{"", "?stale", "?consistent"} {
		req, _ := http.NewRequest("PUT", a.URL("/v1/txn"+q), strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		txnNoErr(t, err)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Consul-Knownleader") != "true" || resp.Header.Get("X-Consul-Lastcontact") == "" {
			t.Fatalf("%s: %d %v", q, resp.StatusCode, resp.Header)
		}
		if resp.Header.Get("X-Consul-Index") != "" {
			t.Errorf("%s: a read-only transaction answers an index: %v", q, resp.Header)
		}
	}
	if a.Server.Store().LatestIndex() != before {
		t.Fatal("a read-only transaction went through the log")
	}
	for _, q := range []string{"?index=1", "?wait=1s"} {
		code, out := do(t, "PUT", a.URL("/v1/txn"+q), "", body)
		if code != 400 || !strings.Contains(out, "cannot block") {
			t.Errorf("%s: %d %s", q, code, out)
		}
	}
	code, out := do(t, "PUT", a.URL("/v1/txn?stale&consistent"), "", body)
	if code != 400 {
		t.Errorf("?stale&consistent: %d %s", code, out)
	}
}

// At most 128 operations; values and bodies within their limits.
func TestTxnLimits(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`limits { txn_max_req_len = 100000 }`))
	ops := func(n int) api.TxnOps {
		var out api.TxnOps
		for i := 0; i < n; i++ {
			out = append(out, kvTxn(api.KVSet, fmt.Sprintf("many/%d", i), "v", 0, ""))
		}
		return out
	}
	if res := txnOK(t, a.Client, ops(128)...); len(res) != 128 {
		t.Fatalf("128 operations: %d results", len(res))
	}
	_, _, _, err := a.Client.Txn().Txn(ops(129), nil)
	if err == nil || !strings.Contains(err.Error(), "Transaction contains too many operations (129 > 128)") {
		t.Fatalf("129 operations: %v", err)
	}
	if keys, _, _ := a.Client.KV().Keys("many/", "", nil); len(keys) != 128 {
		t.Fatalf("%d keys after the refused transaction", len(keys))
	}
	big := strings.Repeat("x", 512*1024+1)
	code, out := do(t, "PUT", a.URL("/v1/txn"), "", `[{"KV":{"Verb":"set","Key":"big","Value":"`+base64.StdEncoding.EncodeToString([]byte(big))+`"}}]`)
	if code != 413 || !strings.Contains(out, "txn_max_req_len") {
		t.Fatalf("a body over txn_max_req_len: %d %.200s", code, out)
	}
	b := testagent.Start(t, testagent.WithHCL(`limits { kv_max_value_size = 1000 }`))
	code, out = do(t, "PUT", b.URL("/v1/txn"), "", `[{"KV":{"Verb":"set","Key":"big","Value":"`+base64.StdEncoding.EncodeToString(make([]byte, 1001))+`"}}]`)
	if code != 413 || out != `Value for key "big" is too large (1001 > 1000 bytes)` {
		t.Fatalf("a value over kv_max_value_size: %d %s", code, out)
	}
}

// Bodies that are not transactions are refused with 400 naming what is
// wrong; nothing is applied.
func TestTxnBadBodies(t *testing.T) {
	a := testagent.Start(t)
	for _, tc := range []struct{ body, want string }{
		{``, "must be a JSON array"},
		{`{"KV":{"Verb":"set","Key":"k"}}`, "must be a JSON array"},
		{`[{"KV":{"Verb":"set","Key":"k"}`, "Failed to parse body"},
		{`[{"KV":{"Verb":"set","Key":"k","Valu":"dg=="}}]`, `operation 0: json: unknown field "Valu"`},
		{`[{"KV":{"Verb":"set","Key":"k","Value":"not base64!"}}]`, "operation 0"},
		{`[{"KV":{"Verb":"set","Key":"k"}},{}]`, "operation 1: an operation sets exactly one of KV, Node, Service, Check or Session; this one sets 0"},
		{`[{"KV":{"Verb":"set","Key":"k"},"Node":{"Verb":"get","Node":{"Node":"n"}}}]`, "this one sets 2"},
		{`[{"KV":{"Verb":"set","Key":"k","Namespace":"team"}}]`, `Namespace "team"`},
		{`[{"Service":{"Verb":"set","Node":"n","Service":{"Service":"s","Kind":"connect-proxy"}}}]`, "service mesh is not supported"},
		{`[{"Check":{"Verb":"set","Check":{"Node":"n","CheckID":"c","Definition":{"Interval":"often"}}}}]`, "operation 0"},
	} {
		code, out := do(t, "PUT", a.URL("/v1/txn"), "", tc.body)
		if code != 400 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %d %q, want 400 with %q", tc.body, code, out, tc.want)
		}
	}
	if p, _, _ := a.Client.KV().Get("k", nil); p != nil {
		t.Fatal("a refused body applied")
	}
	// Missing names are errors of their operation.
	lines := txnFails(t, a.Client,
		kvTxn(api.KVSet, "", "v", 0, ""),
		&api.TxnOp{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Service: api.AgentService{Service: "s"}}},
		&api.TxnOp{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{Node: "n"}}},
	)
	txnEqual(t, []string{"0: missing key name", "1: Must provide node", "2: check needs a CheckID or a Name"}, lines)
}
