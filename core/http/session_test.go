package http_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

func TestSessionsAndLocks(t *testing.T) {
	a := testagent.Start(t)
	se := a.Client.Session()
	id, _, err := se.Create(&api.SessionEntry{Name: "s", TTL: "10s", Behavior: "release"}, nil)
	if err != nil || id == "" {
		t.Fatalf("create: %q %v", id, err)
	}
	info, _, err := se.Info(id, nil)
	if err != nil || info == nil || info.Node != a.Agent.Node().Node || info.TTL != "10s" {
		t.Fatalf("info: %+v %v", info, err)
	}
	if len(info.NodeChecks) != 1 || info.NodeChecks[0] != "serfHealth" {
		t.Fatalf("default checks: %+v", info.NodeChecks)
	}
	kv := a.Client.KV()
	ok, _, err := kv.Acquire(&api.KVPair{Key: "service/leader", Value: []byte("me"), Session: id}, nil)
	if err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	p, _, _ := kv.Get("service/leader", nil)
	if p.Session != id || p.LockIndex != 1 {
		t.Fatalf("locked entry: %+v", p)
	}
	other, _, _ := se.Create(&api.SessionEntry{Name: "other"}, nil)
	if ok, _, _ := kv.Acquire(&api.KVPair{Key: "service/leader", Session: other}, nil); ok {
		t.Fatal("second session took a held lock")
	}
	if _, _, err := se.Renew(id, nil); err != nil {
		t.Fatalf("renew: %v", err)
	}
	list, _, _ := se.List(nil)
	node, _, _ := se.Node(a.Agent.Node().Node, nil)
	if len(list) != 2 || len(node) != 2 {
		t.Fatalf("list %d node %d", len(list), len(node))
	}
	// A null LockDelay means "not given": the 15s default.
	resp, err := http.DefaultClient.Do(mustReq(t, "PUT", a.URL("/v1/session/create"), `{"LockDelay":null}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("LockDelay null: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := se.Destroy(id, nil); err != nil {
		t.Fatal(err)
	}
	p, _, _ = kv.Get("service/leader", nil)
	if p.Session != "" {
		t.Fatalf("destroy did not release: %+v", p)
	}
	// Consul answers 404 and the client turns that into a nil entry.
	if e, _, err := se.Renew(id, nil); err != nil || e != nil {
		t.Fatalf("renew of a destroyed session: %+v %v", e, err)
	}
}

// The API client's lock helper is what `beacon lock` and many apps use.
func TestClientLockHelper(t *testing.T) {
	a := testagent.Start(t)
	l1, err := a.Client.LockOpts(&api.LockOptions{Key: "locks/job", SessionTTL: "10s", LockWaitTime: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lost, err := l1.Lock(nil)
	if err != nil || lost == nil {
		t.Fatalf("lock: %v", err)
	}
	l2, _ := a.Client.LockOpts(&api.LockOptions{Key: "locks/job", SessionTTL: "10s", LockTryOnce: true, LockWaitTime: 200 * time.Millisecond})
	if ch, err := l2.Lock(nil); err != nil || ch != nil {
		t.Fatalf("second holder got the lock: %v %v", ch, err)
	}
	if err := l1.Unlock(); err != nil {
		t.Fatal(err)
	}
	// The session's lock delay does not apply to an explicit release.
	if ch, err := l2.Lock(nil); err != nil || ch == nil {
		t.Fatalf("lock after release: %v %v", ch, err)
	}
	l2.Unlock()
}

func TestSnapshotSaveRestore(t *testing.T) {
	a := testagent.Start(t)
	kv := a.Client.KV()
	kv.Put(&api.KVPair{Key: "keep/a", Value: []byte("1")}, nil)
	a.Client.Catalog().Register(&api.CatalogRegistration{Node: "ext", Address: "10.0.0.1",
		Service: &api.AgentService{Service: "ext-svc"}}, nil)
	snap, _, err := a.Client.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := io.ReadAll(snap)
	snap.Close()
	kv.Put(&api.KVPair{Key: "keep/a", Value: []byte("changed")}, nil)
	kv.Put(&api.KVPair{Key: "later", Value: []byte("x")}, nil)
	if err := a.Client.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := kv.Get("keep/a", nil); p == nil || string(p.Value) != "1" {
		t.Fatalf("after restore: %+v", p)
	}
	if p, _, _ := kv.Get("later", nil); p != nil {
		t.Fatal("a key written after the snapshot survived the restore")
	}
	if svcs, _, _ := a.Client.Catalog().Service("ext-svc", "", nil); len(svcs) != 1 {
		t.Fatal("catalog not restored")
	}
	// A damaged archive is refused and changes nothing.
	archive[len(archive)/2] ^= 0xff
	if err := a.Client.Snapshot().Restore(nil, bytes.NewReader(archive)); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("damaged archive: %v", err)
	}
	if p, _, _ := kv.Get("keep/a", nil); p == nil || string(p.Value) != "1" {
		t.Fatal("a refused restore changed the data")
	}
}
