package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// A default read on the leader right after a write needs no quorum round
// of its own (the write's commit confirmed the leadership), while one
// after a quiet spell does.
func TestWriteConfirmsLeadership(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	var leader *Daemon
	for _, d := range startThreeServers(t) {
		if d.Server.IsLeader() {
			leader = d
		}
	}
	read := func() {
		var out structs.IndexedDirEntries
		if err := leader.Server.KVGet(context.Background(), &structs.KeyRequest{Key: "k"}, &out); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(700 * time.Millisecond) // past any lease from startup
	rounds := leader.Server.LeaseRounds()
	if _, err := leader.Server.KVApply(context.Background(), &structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k", Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	read()
	if got := leader.Server.LeaseRounds(); got != rounds {
		t.Fatalf("a read right after a write ran %d quorum rounds, want none", got-rounds)
	}
	time.Sleep(700 * time.Millisecond)
	read()
	if got := leader.Server.LeaseRounds(); got != rounds+1 {
		t.Fatalf("a read after the lease ran out ran %d quorum rounds, want 1", got-rounds)
	}
}
