package state

import (
	"errors"

	"github.com/beacon-sd/beacon/core/structs"
)

// BatchEntry is one log entry of a batch: its raft index and either one
// command or a group of KV writes that apply together at that index.
type BatchEntry struct {
	Index uint64
	Cmd   *structs.Command
	Group []*structs.KVSRequest
}

// BatchResult is what Apply would have returned for one entry; for a
// group, Group holds one result per write.
type BatchResult struct {
	OK    bool
	Err   error
	Group []BatchResult
	Txn   *structs.TxnResponse // a transaction's outcome
}

// ApplyBatch applies commands in order, with exactly the outcome of calling
// Apply on each in turn. Runs of consecutive KV writes share one memdb
// transaction: the tree paths they change are copied once per run instead
// of once per write, which under load is most of a write's cost.
func (s *Store) ApplyBatch(entries []BatchEntry) []BatchResult {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	out := make([]BatchResult, len(entries))
	isKV := func(e BatchEntry) bool {
		return e.Cmd != nil && e.Cmd.Type == structs.KVSRequestType && e.Cmd.KVS != nil
	}
	for i := 0; i < len(entries); {
		if entries[i].Group != nil {
			out[i] = BatchResult{OK: true, Group: s.applyGroup(entries[i].Index, entries[i].Group)}
			i++
			continue
		}
		j := i
		for j < len(entries) && isKV(entries[j]) {
			j++
		}
		if j-i < 2 || s.kvRun(entries[i:j], out[i:j], nil) >= 0 {
			if j == i {
				j = i + 1
			}
			for k := i; k < j; k++ {
				out[k] = s.applyEntry(entries[k])
			}
		}
		i = j
	}
	return out
}

// applyEntry applies one command as Apply does; a transaction also
// answers with its results or errors.
func (s *Store) applyEntry(e BatchEntry) BatchResult {
	if e.Cmd.Type == structs.TxnRequestType && e.Cmd.Txn != nil {
		resp, err := s.applyTxnLocked(e.Index, e.Cmd.Txn)
		return BatchResult{OK: err == nil && len(resp.Errors) == 0, Err: err, Txn: resp}
	}
	ok, err := s.applyLocked(e.Index, e.Cmd)
	return BatchResult{OK: ok, Err: err}
}

// applyGroup applies the writes of one group in order, in one transaction:
// readers see all of the group or none of it, which matters because the
// writes share one index. A write that fails with an error is dropped with
// its changes, and the group is applied again without it, so the error
// changes nothing, as it does when a write applies alone.
func (s *Store) applyGroup(idx uint64, group []*structs.KVSRequest) []BatchResult {
	run := make([]BatchEntry, len(group))
	for k, r := range group {
		run[k] = BatchEntry{Index: idx, Cmd: &structs.Command{Type: structs.KVSRequestType, KVS: r}}
	}
	out := make([]BatchResult, len(group))
	failed := make([]bool, len(group))
	for {
		k := s.kvRun(run, out, failed)
		if k < 0 {
			return out
		}
		failed[k] = true
	}
}

// kvRun applies a run of KV writes in one transaction and reports -1. A KV
// write that is refused (a failed CAS, a lock held by another session, or
// an error found before any change: see refusedUnchanged) has changed
// nothing when it says so, but one that fails with another error may have;
// then kvRun changes nothing, records the error in out and returns the
// write's position. Writes marked failed are skipped, their recorded
// errors kept (and remembered under their request IDs).
func (s *Store) kvRun(run []BatchEntry, out []BatchResult, failed []bool) int {
	t := &txn{Txn: s.db.Txn(true), store: s}
	defer t.Abort()
	type change struct {
		idx     uint64
		touched map[string]struct{}
	}
	var changes []change
	var reqs []appliedRequest
	var spare map[string]struct{}
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
					out[k].Err = prev.failure()
				}
				continue
			}
		}
		if failed != nil && failed[k] {
			if id != "" {
				inRun[id] = len(reqs)
				reqs = append(reqs, failedRequest(id, e.Index, out[k].Err))
			}
			continue
		}
		t.idx = e.Index
		// Writes at one index (a group's) record their scopes together;
		// a write that changed nothing leaves its map for the next.
		shared := false
		if n := len(changes); n > 0 && changes[n-1].idx == e.Index {
			t.touched, shared = changes[n-1].touched, true
		} else {
			if spare == nil {
				spare = make(map[string]struct{}, 2)
			}
			t.touched = spare
		}
		ok, err := t.kvsApply(e.Cmd.KVS)
		if err != nil {
			out[k] = BatchResult{Err: err}
			if !refusedUnchanged(err) {
				return k
			}
			if id != "" { // remembered, as applyLocked does
				inRun[id] = len(reqs)
				reqs = append(reqs, failedRequest(id, e.Index, err))
			}
			continue
		}
		out[k] = BatchResult{OK: ok}
		if ok && len(t.touched) > 0 && !shared {
			changes = append(changes, change{e.Index, t.touched})
			spare = nil
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
	return -1
}

// refusedUnchanged tells the errors a KV write returns before it changes
// anything: bad input and a missing or unknown session. (A variable so
// that tests can send every failure down the path that applies again.)
var refusedUnchanged = func(err error) bool {
	var in *structs.InputError
	return errors.As(err, &in) || errors.Is(err, structs.ErrInvalidSession) || errors.Is(err, structs.ErrMissingSessionID)
}
