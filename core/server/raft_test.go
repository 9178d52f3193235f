package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/structs"
)

// A follower whose log tail is cut (a new leader overwrote entries it
// had not committed) restarts with a readable log. The WAL of an earlier
// release marked the cut segment sealed without writing its index, and
// the restart then panicked ("sealed segment has no index block").
func TestLogReadableAfterTailCut(t *testing.T) {
	for _, backend := range []string{"wal", "boltdb"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			s := &Server{cfg: Config{LogStore: backend}, logger: hclog.NewNullLogger()}
			store, err := s.openLogStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			var logs []*raft.Log
			for i := uint64(1); i <= 10; i++ {
				logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{byte(i)}})
			}
			if err := store.StoreLogs(logs); err != nil {
				t.Fatal(err)
			}
			if err := store.DeleteRange(9, 10); err != nil {
				t.Fatal(err)
			}
			if err := store.StoreLogs([]*raft.Log{{Index: 9, Term: 2, Type: raft.LogCommand, Data: []byte("new")}}); err != nil {
				t.Fatal(err)
			}
			store.Close()

			again, err := s.openLogStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			for i := uint64(1); i <= 9; i++ {
				var l raft.Log
				if err := again.GetLog(i, &l); err != nil {
					t.Fatalf("entry %d after the restart: %v", i, err)
				}
				if i == 9 && (l.Term != 2 || string(l.Data) != "new") {
					t.Fatalf("entry 9 is %+v, want the new leader's", l)
				}
			}
			if last, _ := again.LastIndex(); last != 9 {
				t.Fatalf("last index %d after the restart, want 9", last)
			}
		})
	}
}

// A failed append is answered "not applied" only where raft never took
// the entry; once it may have reached the followers, the outcome is
// unknown, in words no client reads as "not applied".
func TestApplyErrorSaysWhetherTheWriteMayHaveApplied(t *testing.T) {
	for _, tc := range []struct {
		raft    error
		unknown bool
	}{
		{raft.ErrNotLeader, false},
		{raft.ErrEnqueueTimeout, false},
		{raft.ErrLeadershipLost, true},
		{raft.ErrRaftShutdown, true},
		{errors.New("log store: disk full"), true},
	} {
		err := applyError(tc.raft)
		if structs.OutcomeUnknown(err) != tc.unknown {
			t.Errorf("%v: answered %q, outcome unknown %v; want %v", tc.raft, err, structs.OutcomeUnknown(err), tc.unknown)
		}
		if tc.unknown == strings.Contains(err.Error(), structs.ErrNoLeader.Error()) {
			t.Errorf("%v: answered %q", tc.raft, err)
		}
	}
	if got := applyError(raft.ErrLeadershipLost).Error(); got != "leadership lost while committing log" {
		t.Errorf("lost leadership answered %q, not Consul's words", got)
	}
}
