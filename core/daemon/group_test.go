package daemon

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/server"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// Concurrent KV writes through the leader and the followers are sent in
// groups, and every writer still gets its own write's outcome: CAS
// increments of shared counters add up, and a lock with an unknown session
// fails for its writer alone.
func TestConcurrentKVWritesAreGrouped(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	ds := startThreeServers(t)
	concurrentKVWrites(t, ds)
	// Summed over the servers: leadership may move on a busy machine.
	var all server.GroupStats
	for _, d := range ds {
		st := d.Server.KVGroupStats()
		t.Logf("%s: as leader %d KV writes in %d log entries; as follower %d sent on in %d calls",
			d.node.Node, st.Writes, st.Entries, st.Forwarded, st.Calls)
		all.Writes, all.Entries = all.Writes+st.Writes, all.Entries+st.Entries
		all.Forwarded, all.Calls = all.Forwarded+st.Forwarded, all.Calls+st.Calls
		// The figures an operator reads in /v1/agent/self and beacon info.
		raft := d.self()["Stats"].(map[string]interface{})["raft"].(map[string]string)
		if raft["kv_group_writes"] != strconv.FormatUint(st.Writes, 10) || raft["kv_group_entries"] != strconv.FormatUint(st.Entries, 10) {
			t.Errorf("%s: agent self shows %v, want %+v", d.node.Node, raft, st)
		}
	}
	if all.Writes <= all.Entries {
		t.Error("no log entry carried more than one write")
	}
	if all.Forwarded <= all.Calls {
		t.Error("no follower sent a call with more than one write")
	}
}

// While one server does not say it reads grouped writes (a server of an
// older build), every write goes in its own log entry and every follower
// forwards writes one by one, with the same outcomes.
func TestNoGroupsWhileAServerCannotReadThem(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	ds := startThreeServers(t)
	old := ds[2]
	tags := old.gossipTags()
	delete(tags, server.GossipTagKVGroups)
	if err := old.Gossip.SetTags(tags); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		waitfor.Until(t, 10*time.Second, "the tag change to spread", func() bool {
			for _, m := range d.Gossip.Members() {
				if m.Name == old.node.Node && m.Tags[server.GossipTagKVGroups] == "" {
					return true
				}
			}
			return false
		})
	}
	time.Sleep(1100 * time.Millisecond) // past the cached answer
	concurrentKVWrites(t, ds)
	for _, d := range ds {
		if st := d.Server.KVGroupStats(); st.Writes != st.Entries || st.Calls != 0 {
			t.Errorf("%s grouped writes: %+v", d.node.Node, st)
		}
	}
}

// The leader does not add a server that does not say it reads grouped
// writes (a server of an older build) to the raft configuration.
func TestOlderServerIsNotAdded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	// New servers vote at once, so that StatusPeers lists them.
	votesAtOnce := `{"autopilot":{"server_stabilization_time":"0s"}}`
	a, b := startServerWith(t, "a", 2, votesAtOnce), startServerWith(t, "b", 2, votesAtOnce)
	host, port := a.Gossip.LocalAddr()
	if _, err := b.Join([]string{host + ":" + strconv.Itoa(port)}); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 10*time.Second, "a leader", func() bool { return a.Server.IsLeader() || b.Server.IsLeader() })
	old := startClusterServer(t, "old", 0)
	tags := old.gossipTags()
	delete(tags, server.GossipTagKVGroups)
	if err := old.Gossip.SetTags(tags); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Join([]string{host + ":" + strconv.Itoa(port)}); err != nil {
		t.Fatal(err)
	}
	newer := startClusterServer(t, "new", 0)
	if _, err := newer.Join([]string{host + ":" + strconv.Itoa(port)}); err != nil {
		t.Fatal(err)
	}
	peers := func() []string {
		p, _ := a.Server.StatusPeers(context.Background())
		return p
	}
	// The newer server is added; by then the older one has been seen too.
	waitfor.Until(t, 10*time.Second, "three raft peers", func() bool { return len(peers()) == 3 })
	time.Sleep(500 * time.Millisecond)
	for _, p := range peers() {
		if p == old.rpc.Addr().String() {
			t.Fatalf("the older server was added: %v", peers())
		}
	}
}

// concurrentKVWrites has writers on every server increment shared counters
// by CAS and try a lock with an unknown session, and checks that each got
// its own outcome: the increments add up and every lock failed.
func concurrentKVWrites(t *testing.T, ds []*Daemon) {
	t.Helper()
	ctx := context.Background()
	const writers, increments, counters = 32, 15, 8
	var won [counters]atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		srv := ds[w%len(ds)].Server
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < increments; i++ {
				c := (w + i) % counters
				key := fmt.Sprintf("ctr/%d", c)
				for {
					var cur structs.IndexedDirEntries
					if err := readSettled(ctx, srv, key, &cur); err != nil {
						t.Error(err)
						return
					}
					n, idx := 0, uint64(0)
					if len(cur.Entries) == 1 {
						n, _ = strconv.Atoi(string(cur.Entries[0].Value))
						idx = cur.Entries[0].ModifyIndex
					}
					ok, err := applySettled(ctx, srv, &structs.KVSRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{
						Key: key, Value: []byte(strconv.Itoa(n + 1)), RaftIndex: structs.RaftIndex{ModifyIndex: idx}}})
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						won[c].Add(1)
						break
					}
				}
			}
			_, err := applySettled(ctx, srv, &structs.KVSRequest{Op: structs.KVLock, DirEnt: structs.DirEntry{
				Key: fmt.Sprintf("lock/%d", w), Session: "00000000-0000-0000-0000-000000000000"}})
			if !errors.Is(err, structs.ErrInvalidSession) {
				t.Errorf("writer %d: a lock with an unknown session answered %v", w, err)
			}
		}()
	}
	wg.Wait()
	total := int64(0)
	for c := 0; c < counters; c++ {
		var out structs.IndexedDirEntries
		if err := readSettled(ctx, ds[0].Server, fmt.Sprintf("ctr/%d", c), &out); err != nil || len(out.Entries) != 1 {
			t.Fatalf("counter %d: %+v, %v", c, out.Entries, err)
		}
		if got, _ := strconv.Atoi(string(out.Entries[0].Value)); int64(got) != won[c].Load() {
			t.Errorf("counter %d is %d after %d successful increments", c, got, won[c].Load())
		}
		total += won[c].Load()
	}
	if total != writers*increments {
		t.Errorf("%d increments succeeded, want %d", total, writers*increments)
	}
}

// readSettled reads key through srv, asking again while a leader change
// leaves no leader to answer.
func readSettled(ctx context.Context, srv *server.Server, key string, out *structs.IndexedDirEntries) error {
	err := srv.KVGet(ctx, &structs.KeyRequest{Key: key}, out)
	for end := time.Now().Add(30 * time.Second); errors.Is(err, structs.ErrNoLeader) && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
		err = srv.KVGet(ctx, &structs.KeyRequest{Key: key}, out)
	}
	return err
}

// applySettled makes a KV write as a careful client does on a busy machine,
// where leaders come and go: under one request ID, sent again while the
// answer is "no leader" or leaves the outcome unknown, so that it applies
// at most once and its first apply's outcome comes back.
func applySettled(ctx context.Context, srv *server.Server, req *structs.KVSRequest) (bool, error) {
	req.EnsureRequestID()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := srv.KVApply(ctx, req)
		if !errors.Is(err, structs.ErrNoLeader) && !structs.OutcomeUnknown(err) || time.Now().After(deadline) {
			return ok, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A write that reaches a server after it shut down fails; it is not
// applied to that server's store as a dev server would apply it.
func TestWriteAfterShutdownFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	ds := startThreeServers(t)
	srv := ds[0].Server
	srv.Shutdown()
	put := &structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "late", Value: []byte("x")}}
	if _, err := srv.KVApply(context.Background(), put); err == nil {
		t.Fatal("a write after shutdown succeeded")
	}
	if _, e, err := srv.Store().KVGet(nil, "late"); err != nil || e != nil {
		t.Fatalf("the write reached the store: %+v, %v", e, err)
	}
}
