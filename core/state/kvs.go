package state

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// kvsApply performs one KV write. Its input errors and session errors come
// before it changes anything: kvRun relies on that (see refusedUnchanged).
func (t *txn) kvsApply(req *structs.KVSRequest) (bool, error) {
	e := &req.DirEnt
	switch req.Op {
	case structs.KVSet:
		return true, t.kvsSet(e, false)
	case structs.KVCAS:
		return t.kvsCAS(e)
	case structs.KVDelete:
		return true, t.kvsDelete(e.Key)
	case structs.KVDeleteCAS:
		return t.kvsDeleteCAS(e.Key, e.ModifyIndex)
	case structs.KVDeleteTree:
		return true, t.kvsDeleteTree(e.Key)
	case structs.KVLock:
		return t.kvsLock(e)
	case structs.KVUnlock:
		return t.kvsUnlock(e)
	}
	return false, structs.BadInput("unknown KV operation %q", req.Op)
}

func (t *txn) getKV(key string) (*structs.DirEntry, error) {
	raw, err := t.First(tableKVs, "id", key)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.DirEntry), nil
}

// kvsSet writes an entry. Unless keepSession is set, the stored entry keeps
// the session and lock index it already had (a plain PUT never takes or
// drops a lock).
func (t *txn) kvsSet(e *structs.DirEntry, keepSession bool) error {
	existing, err := t.getKV(e.Key)
	if err != nil {
		return err
	}
	row := &structs.DirEntry{Key: e.Key, Flags: e.Flags, Value: e.Value}
	if keepSession {
		row.Session, row.LockIndex = e.Session, e.LockIndex
	}
	if existing != nil {
		row.CreateIndex = existing.CreateIndex
		if !keepSession {
			row.Session, row.LockIndex = existing.Session, existing.LockIndex
		}
	} else {
		row.CreateIndex = t.idx
		if err := t.dropTombstone(e.Key); err != nil {
			return err
		}
	}
	row.ModifyIndex = t.idx
	if err := t.Insert(tableKVs, row); err != nil {
		return err
	}
	t.touch(tableKVs)
	return nil
}

func (t *txn) kvsCAS(e *structs.DirEntry) (bool, error) {
	existing, err := t.getKV(e.Key)
	if err != nil {
		return false, err
	}
	// cas=0 means "only if it does not exist".
	if e.ModifyIndex == 0 && existing != nil {
		return false, nil
	}
	if e.ModifyIndex != 0 && (existing == nil || existing.ModifyIndex != e.ModifyIndex) {
		return false, nil
	}
	return true, t.kvsSet(e, false)
}

func (t *txn) kvsDelete(key string) error {
	existing, err := t.getKV(key)
	if err != nil || existing == nil {
		return err
	}
	return t.deleteEntry(existing)
}

func (t *txn) deleteEntry(e *structs.DirEntry) error {
	if err := t.Delete(tableKVs, e); err != nil {
		return err
	}
	if err := t.Insert(tableTombstones, &tombstone{Key: e.Key, Index: t.idx}); err != nil {
		return err
	}
	t.touch(tableKVs)
	return nil
}

func (t *txn) dropTombstone(key string) error {
	raw, err := t.First(tableTombstones, "id", key)
	if err != nil || raw == nil {
		return err
	}
	return t.Delete(tableTombstones, raw)
}

func (t *txn) kvsDeleteCAS(key string, cas uint64) (bool, error) {
	existing, err := t.getKV(key)
	if err != nil {
		return false, err
	}
	if existing == nil {
		return true, nil
	}
	if existing.ModifyIndex != cas {
		return false, nil
	}
	return true, t.deleteEntry(existing)
}

func (t *txn) kvsDeleteTree(prefix string) error {
	it, err := t.Get(tableKVs, "id_prefix", prefix)
	if err != nil {
		return err
	}
	var doomed []*structs.DirEntry
	for raw := it.Next(); raw != nil; raw = it.Next() {
		doomed = append(doomed, raw.(*structs.DirEntry))
	}
	for _, e := range doomed {
		if err := t.deleteEntry(e); err != nil {
			return err
		}
	}
	return nil
}

// kvsLock takes the lock on a key for a session, writing the value.
func (t *txn) kvsLock(e *structs.DirEntry) (bool, error) {
	if e.Session == "" {
		return false, structs.ErrMissingSessionID
	}
	raw, err := t.First(tableSessions, "id", e.Session)
	if err != nil {
		return false, err
	}
	if raw == nil {
		return false, fmt.Errorf("%w %q", structs.ErrInvalidSession, e.Session)
	}
	existing, err := t.getKV(e.Key)
	if err != nil {
		return false, err
	}
	row := *e
	switch {
	case existing == nil:
		if t.store.lockDelayed(e.Key) {
			return false, nil
		}
		row.LockIndex = 1
	case existing.Session == e.Session:
		// Re-acquiring a held lock only updates the value.
		row.LockIndex = existing.LockIndex
	case existing.Session != "":
		return false, nil
	default:
		if t.store.lockDelayed(e.Key) {
			return false, nil
		}
		row.LockIndex = existing.LockIndex + 1
	}
	return true, t.kvsSet(&row, true)
}

// kvsUnlock releases a session's lock on a key, writing the value.
func (t *txn) kvsUnlock(e *structs.DirEntry) (bool, error) {
	if e.Session == "" {
		return false, structs.ErrMissingSessionID
	}
	existing, err := t.getKV(e.Key)
	if err != nil {
		return false, err
	}
	if existing == nil || existing.Session != e.Session {
		return false, nil
	}
	row := *e
	row.Session = ""
	row.LockIndex = existing.LockIndex
	return true, t.kvsSet(&row, true)
}

// reapTombstones drops tombstones at or below idx and raises the floor that
// keeps prefix indexes from going backwards once they are gone.
func (t *txn) reapTombstones(idx uint64) error {
	it, err := t.Get(tableTombstones, "id")
	if err != nil {
		return err
	}
	var doomed []*tombstone
	var reaped uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		ts := raw.(*tombstone)
		if ts.Index <= idx {
			doomed = append(doomed, ts)
			reaped = max(reaped, ts.Index)
		}
	}
	for _, ts := range doomed {
		if err := t.Delete(tableTombstones, ts); err != nil {
			return err
		}
	}
	if reaped == 0 {
		return nil
	}
	raw, err := t.First(tableIndex, "id", scopeReapFloor)
	if err != nil {
		return err
	}
	if raw != nil && raw.(*indexEntry).Value >= reaped {
		return nil
	}
	return t.Insert(tableIndex, &indexEntry{Key: scopeReapFloor, Value: reaped})
}

// reapFloor is the highest index of a reaped tombstone.
func reapFloor(tx *memdb.Txn) uint64 {
	raw, err := tx.First(tableIndex, "id", scopeReapFloor)
	if err != nil || raw == nil {
		return 0
	}
	return raw.(*indexEntry).Value
}

// KVGet reads one key. The index is the entry's ModifyIndex, or for a
// missing key the index of its delete, so writes to other keys leave it be.
func (s *Store) KVGet(ws memdb.WatchSet, key string) (uint64, *structs.DirEntry, error) {
	tx := s.readTxn()
	ch, raw, err := tx.FirstWatch(tableKVs, "id", key)
	if err != nil {
		return 0, nil, err
	}
	ws.Add(ch)
	if raw != nil {
		e := raw.(*structs.DirEntry)
		return e.ModifyIndex, e, nil
	}
	tch, traw, err := tx.FirstWatch(tableTombstones, "id", key)
	if err != nil {
		return 0, nil, err
	}
	ws.Add(tch)
	idx := reapFloor(tx)
	if traw != nil {
		idx = max(idx, traw.(*tombstone).Index)
	}
	return atLeastOne(idx), nil, nil
}

// KVList reads every entry under a prefix. The index is the highest
// ModifyIndex or delete index under the prefix.
func (s *Store) KVList(ws memdb.WatchSet, prefix string) (uint64, []*structs.DirEntry, error) {
	idx, out, _, err := s.KVListVisible(ws, prefix, nil)
	return idx, out, err
}

// KVListVisible is KVList of the keys visible reports (all when nil): what
// a reader may not see is neither in the result nor in its index. hidden
// counts the entries left out.
func (s *Store) KVListVisible(ws memdb.WatchSet, prefix string, visible func(string) bool) (idx uint64, out []*structs.DirEntry, hidden int, err error) {
	tx := s.readTxn()
	it, err := tx.Get(tableKVs, "id_prefix", prefix)
	if err != nil {
		return 0, nil, 0, err
	}
	ws.Add(it.WatchCh())
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e := raw.(*structs.DirEntry)
		if visible != nil && !visible(e.Key) {
			hidden++
			continue
		}
		idx = max(idx, e.ModifyIndex)
		out = append(out, e)
	}
	tidx, err := tombstoneIndex(tx, ws, prefix, visible)
	if err != nil {
		return 0, nil, 0, err
	}
	return atLeastOne(max(idx, tidx)), out, hidden, nil
}

// KVKeys lists the keys under a prefix, folded at the first separator after
// the prefix when sep is set. Only creates and deletes change the answer, so
// the index is the highest CreateIndex or delete index.
func (s *Store) KVKeys(ws memdb.WatchSet, prefix, sep string) (uint64, []string, error) {
	idx, out, _, err := s.KVKeysVisible(ws, prefix, sep, nil)
	return idx, out, err
}

// KVKeysVisible is KVKeys of the keys visible reports (all when nil);
// hidden counts the keys left out.
func (s *Store) KVKeysVisible(ws memdb.WatchSet, prefix, sep string, visible func(string) bool) (idx uint64, out []string, hidden int, err error) {
	tx := s.readTxn()
	it, err := tx.Get(tableKVs, "id_prefix", prefix)
	if err != nil {
		return 0, nil, 0, err
	}
	ws.Add(it.WatchCh())
	out = []string{}
	last := ""
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e := raw.(*structs.DirEntry)
		if visible != nil && !visible(e.Key) {
			hidden++
			continue
		}
		idx = max(idx, e.CreateIndex)
		k := e.Key
		if sep != "" {
			if i := strings.Index(k[len(prefix):], sep); i >= 0 {
				k = k[:len(prefix)+i+len(sep)]
			}
		}
		if k != last {
			out = append(out, k)
			last = k
		}
	}
	tidx, err := tombstoneIndex(tx, ws, prefix, visible)
	if err != nil {
		return 0, nil, 0, err
	}
	return atLeastOne(max(idx, tidx)), out, hidden, nil
}

func tombstoneIndex(tx *memdb.Txn, ws memdb.WatchSet, prefix string, visible func(string) bool) (uint64, error) {
	it, err := tx.Get(tableTombstones, "id_prefix", prefix)
	if err != nil {
		return 0, err
	}
	ws.Add(it.WatchCh())
	idx := reapFloor(tx)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if ts := raw.(*tombstone); visible == nil || visible(ts.Key) {
			idx = max(idx, ts.Index)
		}
	}
	return idx, nil
}

// TombstoneCount is the number of KV tombstones held.
func (s *Store) TombstoneCount() int {
	it, err := s.readTxn().Get(tableTombstones, "id")
	if err != nil {
		return 0
	}
	n := 0
	for raw := it.Next(); raw != nil; raw = it.Next() {
		n++
	}
	return n
}
