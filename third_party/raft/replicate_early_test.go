package raft

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// gatedStore holds StoreLogs calls while closed, and can fail them.
type gatedStore struct {
	LogStore
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	fail    error
	waiting chan struct{}
}

func (g *gatedStore) close() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.waiting = make(chan struct{}, 1)
	g.mu.Unlock()
}

func (g *gatedStore) open(fail error) {
	g.mu.Lock()
	gate := g.gate
	g.gate, g.fail = nil, fail
	g.mu.Unlock()
	if gate != nil {
		close(gate)
	}
}

func (g *gatedStore) StoreLogs(logs []*Log) error {
	g.mu.Lock()
	gate, waiting := g.gate, g.waiting
	g.mu.Unlock()
	if gate != nil {
		select {
		case waiting <- struct{}{}:
		default:
		}
		<-gate
	}
	g.mu.Lock()
	fail := g.fail
	g.fail = nil
	g.mu.Unlock()
	if fail != nil {
		return fail
	}
	return g.LogStore.StoreLogs(logs)
}

func gatedCluster(t *testing.T) (*cluster, []*gatedStore) {
	gates := make([]*gatedStore, 3)
	c := makeCluster(t, &MakeClusterOpts{Peers: 3, Bootstrap: true, Conf: inmemConfig(t),
		WrapLogs: func(i int, s LogStore) LogStore {
			gates[i] = &gatedStore{LogStore: s}
			return gates[i]
		}})
	return c, gates
}

func indexOf(c *cluster, r *Raft) int {
	for i, x := range c.rafts {
		if x == r {
			return i
		}
	}
	return -1
}

// The followers get a new entry, and it commits, while the leader is still
// writing it to its own log.
func TestRaft_ReplicatesWhileLeaderStores(t *testing.T) {
	c, gates := gatedCluster(t)
	defer c.Close()
	leader := c.Leader()
	li := indexOf(c, leader)
	if err := leader.Apply([]byte("warm"), c.longstopTimeout).Error(); err != nil {
		t.Fatal(err)
	}
	gates[li].close()
	defer gates[li].open(nil)
	f := leader.Apply([]byte("early"), c.longstopTimeout)
	select {
	case <-gates[li].waiting:
	case <-time.After(c.longstopTimeout):
		t.Fatal("the leader did not start writing the entry")
	}
	idx := leader.getLastIndex()
	for i, r := range c.rafts {
		if i == li {
			continue
		}
		deadline := time.Now().Add(c.longstopTimeout)
		for {
			var l Log
			if c.stores[i].GetLog(idx, &l) == nil && string(l.Data) == "early" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("follower %d did not get the entry while the leader was writing it", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		_ = r
	}
	gates[li].open(nil)
	if err := f.Error(); err != nil {
		t.Fatalf("apply: %v", err)
	}
	c.EnsureSame(t)
}

// A leader that fails to write an entry it already sent answers the
// caller with the error and steps down, and does not serve the entry from
// its cache; the cluster goes on.
func TestRaft_LeaderStoreFailureAfterSending(t *testing.T) {
	c, gates := gatedCluster(t)
	defer c.Close()
	leader := c.Leader()
	li := indexOf(c, leader)
	if err := leader.Apply([]byte("warm"), c.longstopTimeout).Error(); err != nil {
		t.Fatal(err)
	}
	gates[li].close()
	f := leader.Apply([]byte("lost"), c.longstopTimeout)
	<-gates[li].waiting
	idx := leader.getLastIndex()
	gates[li].open(errors.New("disk full"))
	if err := f.Error(); err == nil {
		t.Fatal("apply succeeded although the leader could not store the entry")
	}
	var l Log
	if err := leader.logs.GetLog(idx, &l); err == nil && string(l.Data) == "lost" {
		// Only a leader that got the entry back from a new leader may
		// have it.
		if c.stores[li].GetLog(idx, &l) != nil {
			t.Fatal("the cache serves an entry the store does not have")
		}
	}
	next := c.Leader()
	if err := next.Apply([]byte("after"), c.longstopTimeout).Error(); err != nil {
		t.Fatalf("the cluster does not go on: %v", err)
	}
	c.EnsureSame(t)
}

// A compaction while the leader writes an entry it already sent leaves the
// entry readable, so a follower that catches up then gets it as a log
// entry, not as a snapshot that would drop entries it acknowledged (its
// store is monotonic, as raft-wal is).
func TestRaft_CompactionWhileLeaderStores(t *testing.T) {
	gates := make([]*gatedStore, 3)
	conf := inmemConfig(t)
	conf.TrailingLogs = 5
	conf.SnapshotThreshold = 1 << 30
	conf.SnapshotInterval = time.Hour
	c := makeCluster(t, &MakeClusterOpts{Peers: 3, Bootstrap: true, Conf: conf,
		WrapLogs: func(i int, s LogStore) LogStore {
			gates[i] = &gatedStore{LogStore: s}
			return &MockMonotonicLogStore{s: gates[i]}
		}})
	defer c.Close()
	leader := c.Leader()
	li := indexOf(c, leader)
	for i := 0; i < 20; i++ {
		if err := leader.Apply([]byte(fmt.Sprintf("a%d", i)), c.longstopTimeout).Error(); err != nil {
			t.Fatal(err)
		}
	}
	sf := leader.Snapshot()
	if err := sf.Error(); err != nil {
		t.Fatal(err)
	}
	meta, rc, err := sf.Open()
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	for i := 0; i < 20; i++ {
		if err := leader.Apply([]byte(fmt.Sprintf("b%d", i)), c.longstopTimeout).Error(); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitForReplication(40)
	lagging := (li + 1) % 3
	before, _ := c.snaps[lagging].List()
	c.Disconnect(c.rafts[lagging].localAddr)
	gates[li].close()
	defer gates[li].open(nil)
	f := leader.Apply([]byte("x"), c.longstopTimeout)
	<-gates[li].waiting
	if err := leader.compactLogs(meta.Index); err != nil {
		t.Fatal(err)
	}
	c.FullyConnect()
	time.Sleep(testTimeScale(t) * 300 * time.Millisecond)
	gates[li].open(nil)
	if err := f.Error(); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if after, _ := c.snaps[lagging].List(); len(after) != len(before) {
		t.Fatalf("the follower was sent %d snapshots while it was ahead of the leader's snapshot", len(after)-len(before))
	}
	c.EnsureSame(t)
}
