package state

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// A snapshot is a stream of JSON lines, one row each, in a consistent read
// of every table. The first line describes the stream.
type snapHeader struct {
	Format int
	Index  uint64
}

type snapRow struct {
	T string          `json:"t"`
	V json.RawMessage `json:"v"`
}

const snapFormat = 1

// snapTables are the tables written, with a constructor for their rows.
var snapTables = []struct {
	name string
	row  func() interface{}
}{
	{tableNodes, func() interface{} { return new(structs.Node) }},
	{tableServices, func() interface{} { return new(structs.ServiceRow) }},
	{tableChecks, func() interface{} { return new(structs.HealthCheck) }},
	{tableKVs, func() interface{} { return new(structs.DirEntry) }},
	{tableTombstones, func() interface{} { return new(tombstone) }},
	{tableSessions, func() interface{} { return new(structs.Session) }},
	{tableSessionChecks, func() interface{} { return new(sessionCheck) }},
	{tableACLPolicies, func() interface{} { return new(structs.ACLPolicy) }},
	{tableACLTokens, func() interface{} { return new(structs.ACLToken) }},
	{tableIndex, func() interface{} { return new(indexEntry) }},
}

// View is a consistent read of the whole store, taken at once and written
// out later: raft takes it between two applies and persists it while later
// ones go on.
type View struct {
	tx       *memdb.Txn
	index    uint64
	requests []appliedRequest
}

// View captures the store as it is now, between two applies.
func (s *Store) View() *View {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return &View{tx: s.readTxn(), index: s.LatestIndex(), requests: s.requests.entries()}
}

// Snapshot writes the store as it is now.
func (s *Store) Snapshot(w io.Writer) error { return s.View().Write(w) }

// Write writes every row of the view, with its index; the request log's
// entries come last, oldest first, under the "requests" table name.
func (v *View) Write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(snapHeader{Format: snapFormat, Index: v.index}); err != nil {
		return err
	}
	for _, t := range snapTables {
		it, err := v.tx.Get(t.name, "id")
		if err != nil {
			return err
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			b, err := json.Marshal(raw)
			if err != nil {
				return err
			}
			if err := enc.Encode(snapRow{T: t.name, V: b}); err != nil {
				return err
			}
		}
	}
	for _, r := range v.requests {
		b, _ := json.Marshal(r)
		if err := enc.Encode(snapRow{T: tableRequests, V: b}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Restore builds a new store from a snapshot. Every scope starts at the
// snapshot's index, so clients holding older indexes see a change and
// re-read.
func Restore(r io.Reader) (*Store, error) {
	s, err := New()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	var hdr snapHeader
	if err := dec.Decode(&hdr); err != nil {
		return nil, fmt.Errorf("snapshot header: %w", err)
	}
	if hdr.Format != snapFormat {
		return nil, fmt.Errorf("snapshot format %d is not supported (want %d)", hdr.Format, snapFormat)
	}
	ctor := map[string]func() interface{}{}
	for _, t := range snapTables {
		ctor[t.name] = t.row
	}
	tx := s.db.Txn(true)
	defer tx.Abort()
	for n := 1; ; n++ {
		var row snapRow
		if err := dec.Decode(&row); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("snapshot row %d: %w", n, err)
		}
		if row.T == tableRequests {
			var r appliedRequest
			if err := json.Unmarshal(row.V, &r); err != nil {
				return nil, fmt.Errorf("snapshot row %d (%s): %w", n, row.T, err)
			}
			s.requests.add(r)
			continue
		}
		mk, ok := ctor[row.T]
		if !ok {
			return nil, fmt.Errorf("snapshot row %d: unknown table %q", n, row.T)
		}
		v := mk()
		if err := json.Unmarshal(row.V, v); err != nil {
			return nil, fmt.Errorf("snapshot row %d (%s): %w", n, row.T, err)
		}
		if err := tx.Insert(row.T, v); err != nil {
			return nil, fmt.Errorf("snapshot row %d (%s): %w", n, row.T, err)
		}
	}
	tx.Commit()
	s.latest.Store(hdr.Index)
	s.scopes.floor = hdr.Index
	return s, nil
}
