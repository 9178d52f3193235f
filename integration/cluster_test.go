package integration

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// Three servers and two clients from config files: writes through one
// client are read through the other; killing the leader elects another
// within 10 s without losing an acknowledged write; the killed server,
// restarted from its data dir, catches up.
func TestClusterFailover(t *testing.T) {
	c := newCluster(t, 3, 2, nil)
	c.ready(30 * time.Second)
	c1, c2 := c.clients()[0], c.clients()[1]

	acked := map[string]string{}
	put := func(via *agent, k, v string) bool {
		_, err := via.client.KV().Put(&api.KVPair{Key: k, Value: []byte(v)}, nil)
		if err == nil {
			acked[k] = v
		}
		return err == nil
	}
	for i := 0; i < 20; i++ {
		if !put(c1, fmt.Sprintf("seq/%02d", i), fmt.Sprint(i)) {
			t.Fatalf("write %d through a client failed", i)
		}
	}
	p, _, err := c2.client.KV().Get("seq/19", nil)
	if err != nil || p == nil || string(p.Value) != "19" {
		t.Fatalf("read through the other client: %v %v", p, err)
	}

	old := c.leader(10 * time.Second)
	start := time.Now()
	old.kill()
	next := c.leader(10 * time.Second)
	if next == old {
		t.Fatal("the killed leader is still reported")
	}
	t.Logf("new leader %s after %v", next.name, time.Since(start))
	// Writes continue through the clients.
	waitfor.Until(t, 10*time.Second, "writes to work again", func() bool { return put(c1, "after-failover", "yes") })
	for i := 20; i < 30; i++ {
		put(c2, fmt.Sprintf("seq/%02d", i), fmt.Sprint(i))
	}
	// Every acknowledged write is readable, consistently.
	for k, v := range acked {
		p, _, err := c2.client.KV().Get(k, &api.QueryOptions{RequireConsistent: true})
		if err != nil || p == nil || string(p.Value) != v {
			t.Fatalf("acknowledged write %s=%s lost: %v %v", k, v, p, err)
		}
	}

	// The killed server comes back from its data dir and catches up.
	c.start(old)
	waitfor.Until(t, 30*time.Second, old.name+" to catch up", func() bool {
		p, _, err := old.client.KV().Get("seq/29", &api.QueryOptions{AllowStale: true})
		return err == nil && p != nil && string(p.Value) == "29"
	})
	peers, _ := next.client.Status().Peers()
	if len(peers) != 3 {
		t.Fatalf("raft peers after the restart: %v", peers)
	}
}

// A killed client's services turn critical and leave ?passing answers
// within the gossip failure window; a client that leaves is removed from
// the catalog.
func TestClientFailureAndLeave(t *testing.T) {
	c := newCluster(t, 1, 2, nil)
	c.ready(30 * time.Second)
	s1 := c.servers()[0]
	c1, c2 := c.clients()[0], c.clients()[1]
	// A server collects garbage at 3x its live heap, a client at Go's 2x.
	for a, want := range map[*agent]string{s1: "200", c1: "100"} {
		self, err := a.client.Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		if got := self["Stats"]["runtime"].(map[string]interface{})["gc_percent"]; got != want {
			t.Errorf("%s: gc_percent %v, want %s", a.name, got, want)
		}
	}
	for _, a := range []*agent{c1, c2} {
		err := a.client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-" + a.name, Name: "web", Port: 80})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitfor.Until(t, 10*time.Second, "both web instances passing", func() bool {
		e, _, _ := s1.client.Health().Service("web", "", true, nil)
		return len(e) == 2
	})

	start := time.Now()
	c1.kill()
	waitfor.Until(t, 10*time.Second, "the killed client's instance to leave ?passing", func() bool {
		e, _, _ := s1.client.Health().Service("web", "", true, nil)
		return len(e) == 1 && e[0].Node.Node == c2.name
	})
	t.Logf("killed client out of ?passing after %v", time.Since(start))
	checks, _, _ := s1.client.Health().Node(c1.name, nil)
	if len(checks) == 0 || checks[0].Status != "critical" {
		t.Fatalf("killed client's serfHealth: %+v", checks)
	}

	if err := c2.client.Agent().Leave(); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 10*time.Second, "the client that left to exit", c2.exited)
	waitfor.Until(t, 10*time.Second, "the client that left to be gone from the catalog", func() bool {
		n, _, _ := s1.client.Catalog().Node(c2.name, nil)
		return n == nil
	})
	ms, _ := s1.client.Agent().Members(false)
	for _, m := range ms {
		if m.Name == c2.name && m.Status != 3 {
			t.Fatalf("member that left has status %d, want 3 (left)", m.Status)
		}
		if m.Name == c1.name && m.Status != 4 {
			t.Fatalf("killed member has status %d, want 4 (failed)", m.Status)
		}
	}
}

// An agent with a different gossip key cannot join, and says why.
func TestWrongEncryptKeyIsRefused(t *testing.T) {
	key := "aGVsbG8gd29ybGQgZm9yIGJlYWNvbiB0ZXN0cyEhISE="
	c := newCluster(t, 1, 1, map[string]interface{}{"encrypt": key})
	c.ready(30 * time.Second)

	other := newCluster(t, 0, 1, map[string]interface{}{"encrypt": "b3RoZXIga2V5IG90aGVyIGtleSBvdGhlciBrZXkhISE="})
	intruder := other.agents[0]
	intruder.waitHTTP(10 * time.Second)
	// Point the intruder at the first cluster's server.
	err := intruder.client.Agent().Join(fmt.Sprintf("127.0.0.1:%d", c.servers()[0].serf), false)
	if err == nil {
		t.Fatal("an agent with the wrong key joined")
	}
	waitfor.Until(t, 5*time.Second, "a log line naming the key", func() bool { return intruder.logContains("encrypt key") })
	ms, _ := c.servers()[0].client.Agent().Members(false)
	if len(ms) != 2 {
		t.Fatalf("members after the refused join: %d", len(ms))
	}
}

// A snapshot saved on one cluster restores on a fresh one with the same KV
// and catalog, handed to the leader by a client agent.
func TestSnapshotToFreshCluster(t *testing.T) {
	src := newCluster(t, 3, 0, nil)
	src.ready(30 * time.Second)
	s := src.servers()[0].client
	for i := 0; i < 50; i++ {
		s.KV().Put(&api.KVPair{Key: fmt.Sprintf("app/%d", i), Value: []byte(fmt.Sprint(i))}, nil)
	}
	s.Catalog().Register(&api.CatalogRegistration{Node: "ext", Address: "10.1.1.1",
		Service: &api.AgentService{Service: "legacy-db", Port: 5432}}, nil)
	snap, _, err := s.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := io.ReadAll(snap)
	snap.Close()

	dst := newCluster(t, 3, 1, nil)
	dst.ready(30 * time.Second)
	d := dst.clients()[0].client
	if err := d.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	for _, a := range dst.servers() {
		waitfor.Until(t, 10*time.Second, a.name+" to have the restored data", func() bool {
			p, _, _ := a.client.KV().Get("app/49", &api.QueryOptions{AllowStale: true})
			svc, _, _ := a.client.Catalog().Service("legacy-db", "", &api.QueryOptions{AllowStale: true})
			return p != nil && string(p.Value) == "49" && len(svc) == 1
		})
	}
	keys, _, _ := d.KV().Keys("app/", "", nil)
	if len(keys) != 50 {
		t.Fatalf("restored %d keys, want 50", len(keys))
	}
}

// Every server killed during a write load and restarted: the cluster
// re-forms and no acknowledged write is lost.
func TestRestartAllServersKeepsAcknowledgedWrites(t *testing.T) {
	c := newCluster(t, 3, 0, nil)
	c.ready(30 * time.Second)
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w, a := range c.servers() {
		wg.Add(1)
		go func(w int, a *agent) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("load/%d/%d", w, i)
				if _, err := a.client.KV().Put(&api.KVPair{Key: k, Value: []byte("v")}, nil); err == nil {
					mu.Lock()
					acked[k] = true
					mu.Unlock()
				}
				if i > 2000 {
					return
				}
			}
		}(w, a)
	}
	time.Sleep(1500 * time.Millisecond)
	for _, a := range c.servers() {
		a.kill()
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	for _, a := range c.servers() {
		c.start(a)
	}
	l := c.leader(30 * time.Second)
	for k := range acked {
		p, _, err := l.client.KV().Get(k, &api.QueryOptions{RequireConsistent: true})
		if err != nil || p == nil {
			t.Fatalf("acknowledged write %s lost after restarting every server (%d acknowledged): %v", k, n, err)
		}
	}
	t.Logf("%d acknowledged writes all present after a full restart", n)
}

// A client whose only server went away and came back finds it again by
// itself: no restart of the client (seed 001 had to restart its pods).
func TestClientRejoinsByItself(t *testing.T) {
	c := newCluster(t, 1, 1, nil)
	c.ready(30 * time.Second)
	s1, c1 := c.servers()[0], c.clients()[0]
	s1.kill()
	waitfor.Until(t, 15*time.Second, "the client to see its server fail", func() bool {
		ms, _ := c1.client.Agent().Members(false)
		for _, m := range ms {
			if m.Name == s1.name {
				return m.Status == 4
			}
		}
		return false
	})
	c.start(s1)
	waitfor.Until(t, 30*time.Second, "the client to write through the restarted server", func() bool {
		_, err := c1.client.KV().Put(&api.KVPair{Key: "back", Value: []byte("yes")}, nil)
		return err == nil
	})
	ms, _ := c1.client.Agent().Members(false)
	for _, m := range ms {
		if m.Status != 1 {
			t.Fatalf("member %s has status %d after the rejoin", m.Name, m.Status)
		}
	}
}
