package http_test

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

type blockResult struct {
	index   uint64
	elapsed time.Duration
	err     error
}

// block runs a blocking query in the background.
func block(q func(*api.QueryOptions) (uint64, error), index uint64, wait time.Duration) <-chan blockResult {
	ch := make(chan blockResult, 1)
	go func() {
		start := time.Now()
		idx, err := q(&api.QueryOptions{WaitIndex: index, WaitTime: wait})
		ch <- blockResult{idx, time.Since(start), err}
	}()
	return ch
}

func TestBlockingKV(t *testing.T) {
	a := testagent.Start(t)
	kv := a.Client.KV()
	kv.Put(&api.KVPair{Key: "watched", Value: []byte("1")}, nil)
	kv.Put(&api.KVPair{Key: "unrelated", Value: []byte("1")}, nil)
	_, meta, _ := kv.Get("watched", nil)
	get := func(o *api.QueryOptions) (uint64, error) {
		_, m, err := kv.Get("watched", o)
		if err != nil {
			return 0, err
		}
		return m.LastIndex, nil
	}

	// No change: the query waits the whole wait and returns the same index.
	res := <-block(get, meta.LastIndex, 300*time.Millisecond)
	if res.err != nil || res.index != meta.LastIndex || res.elapsed < 300*time.Millisecond {
		t.Fatalf("timeout case: %+v (index was %d)", res, meta.LastIndex)
	}

	// Unrelated writes do not wake it; a write to the key does.
	ch := block(get, meta.LastIndex, 30*time.Second)
	time.Sleep(100 * time.Millisecond)
	for i := 0; i < 5; i++ {
		kv.Put(&api.KVPair{Key: "unrelated", Value: []byte{byte(i)}}, nil)
	}
	select {
	case r := <-ch:
		t.Fatalf("woken by writes to another key: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	kv.Put(&api.KVPair{Key: "watched", Value: []byte("2")}, nil)
	select {
	case r := <-ch:
		if r.err != nil || r.index <= meta.LastIndex {
			t.Fatalf("after change: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not woken by a write to the key")
	}

	// An index from the future (e.g. after a data reset) returns at once
	// with the current index, lower than the one sent.
	res = <-block(get, meta.LastIndex+1000, 10*time.Second)
	if res.elapsed > 2*time.Second || res.index >= meta.LastIndex+1000 {
		t.Fatalf("index reset case: %+v", res)
	}
}

func TestBlockingHealthWakesOnlyForItsService(t *testing.T) {
	a := testagent.Start(t)
	ag := a.Client.Agent()
	reg := func(id, name string) {
		t.Helper()
		err := ag.ServiceRegister(&api.AgentServiceRegistration{ID: id, Name: name, Port: 80,
			Check: &api.AgentServiceCheck{CheckID: id + "-ttl", TTL: "30s", Status: "passing"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	reg("web-1", "web")
	reg("api-1", "api")
	a.Agent.SyncNow()
	h := a.Client.Health()
	_, meta, err := h.Service("web", "", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := func(o *api.QueryOptions) (uint64, error) {
		_, m, err := h.Service("web", "", true, o)
		if err != nil {
			return 0, err
		}
		return m.LastIndex, nil
	}
	ch := block(q, meta.LastIndex, 30*time.Second)
	time.Sleep(100 * time.Millisecond)
	// Another service coming and going, its check flapping, KV writes:
	// none of it concerns web.
	reg("api-2", "api")
	ag.FailTTL("api-1-ttl", "down")
	ag.PassTTL("api-1-ttl", "up")
	a.Client.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil)
	ag.ServiceDeregister("api-2")
	select {
	case r := <-ch:
		t.Fatalf("health of web woken by unrelated writes: %+v", r)
	case <-time.After(500 * time.Millisecond):
	}
	ag.FailTTL("web-1-ttl", "broken")
	select {
	case r := <-ch:
		if r.err != nil || r.index <= meta.LastIndex {
			t.Fatalf("after web's check failed: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not woken when web's own check failed")
	}
	entries, _, _ := h.Service("web", "", true, nil)
	if len(entries) != 0 {
		t.Fatalf("?passing still lists web with a critical check: %d", len(entries))
	}
}
