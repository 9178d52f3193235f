package state

import "github.com/beacon-sd/beacon/core/structs"

// BatchEntry is one command of a batch: its raft index and the command.
type BatchEntry struct {
	Index uint64
	Cmd   *structs.Command
}

// BatchResult is what Apply would have returned for one entry.
type BatchResult struct {
	OK  bool
	Err error
}

// ApplyBatch applies commands in order, with exactly the outcome of calling
// Apply on each in turn. Runs of consecutive KV writes share one memdb
// transaction: the tree paths they change are copied once per run instead
// of once per write, which under load is most of a write's cost.
func (s *Store) ApplyBatch(entries []BatchEntry) []BatchResult {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	out := make([]BatchResult, len(entries))
	for i := 0; i < len(entries); {
		j := i
		for j < len(entries) && entries[j].Cmd.Type == structs.KVSRequestType && entries[j].Cmd.KVS != nil {
			j++
		}
		if j-i < 2 || !s.applyKVRun(entries[i:j], out[i:j]) {
			if j == i {
				j = i + 1
			}
			for k := i; k < j; k++ {
				out[k].OK, out[k].Err = s.applyLocked(entries[k].Index, entries[k].Cmd)
			}
		}
		i = j
	}
	return out
}

// applyKVRun applies KV writes in one transaction. A KV write that is
// refused (a failed CAS, a lock held by another session) has changed
// nothing when it says so, but one that fails with an error may have; then
// applyKVRun changes nothing and reports false, and the caller applies the
// run one write at a time.
func (s *Store) applyKVRun(run []BatchEntry, out []BatchResult) bool {
	t := &txn{Txn: s.db.Txn(true), store: s}
	defer t.Abort()
	type change struct {
		idx     uint64
		touched map[string]struct{}
	}
	var changes []change
	var reqs []appliedRequest
	inRun := map[string]int{}
	for k, e := range run {
		id := e.Cmd.RequestID()
		if id != "" {
			// As it would be found after this run's earlier adds.
			prev, seen := s.requests.getAfter(id, len(reqs))
			if p, ok := inRun[id]; ok {
				prev, seen = reqs[p], true
			}
			if seen {
				out[k] = BatchResult{OK: prev.OK}
				if prev.Err != "" {
					out[k].Err = structs.BadInput("%s", prev.Err)
				}
				continue
			}
		}
		t.idx = e.Index
		t.touched = make(map[string]struct{}, 2)
		ok, err := t.kvsApply(e.Cmd.KVS)
		if err != nil {
			return false
		}
		out[k] = BatchResult{OK: ok}
		if ok && len(t.touched) > 0 {
			changes = append(changes, change{e.Index, t.touched})
		}
		if id != "" {
			inRun[id] = len(reqs)
			reqs = append(reqs, appliedRequest{ID: id, Index: e.Index, OK: ok})
		}
	}
	t.Commit()
	for _, c := range changes {
		s.scopes.set(c.idx, c.touched)
		if c.idx > s.latest.Load() {
			s.latest.Store(c.idx)
		}
	}
	for _, r := range reqs {
		s.requests.add(r)
	}
	return true
}
