package state

import (
	"bufio"
	"bytes"
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
	// Restore tags the snapshot a leader restores from a user's archive
	// (see TagSnapshot).
	Restore string `json:",omitempty"`
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
	{tableACLRoles, func() interface{} { return new(structs.ACLRole) }},
	{tableACLTokens, func() interface{} { return new(structs.ACLToken) }},
	{tableCAConfig, func() interface{} { return new(structs.CAConfiguration) }},
	{tableCARoots, func() interface{} { return new(structs.CARootState) }},
	{tableQueries, func() interface{} { return new(structs.PreparedQuery) }},
	{tableACLMethods, func() interface{} { return new(structs.ACLAuthMethod) }},
	{tableACLRules, func() interface{} { return new(structs.ACLBindingRule) }},
	{tableAutopilot, func() interface{} { return new(structs.AutopilotConfig) }},
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
// re-read. Rows are decoded from a reused line buffer straight into their
// own types, so that restoring a large state makes little garbage beside
// the store it builds.
func Restore(r io.Reader) (*Store, error) {
	s, err := New()
	if err != nil {
		return nil, err
	}
	lines := &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
	line, err := lines.next()
	if err != nil {
		return nil, fmt.Errorf("snapshot header: %w", err)
	}
	var hdr snapHeader
	if err := json.Unmarshal(line, &hdr); err != nil {
		return nil, fmt.Errorf("snapshot header: %w", err)
	}
	if hdr.Format != snapFormat {
		return nil, fmt.Errorf("snapshot format %d is not supported (want %d)", hdr.Format, snapFormat)
	}
	ctor := map[string]func() interface{}{}
	for _, t := range snapTables {
		ctor[t.name] = t.row
	}
	ctor[tableRequests] = func() interface{} { return new(appliedRequest) }
	tx := s.db.Txn(true)
	defer tx.Abort()
	for n := 1; ; n++ {
		line, err := lines.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot row %d: %w", n, err)
		}
		table, v, err := decodeRow(line, ctor)
		if err != nil {
			return nil, fmt.Errorf("snapshot row %d: %w", n, err)
		}
		if r, ok := v.(*appliedRequest); ok {
			s.requests.add(*r)
			continue
		}
		if err := tx.Insert(table, v); err != nil {
			return nil, fmt.Errorf("snapshot row %d (%s): %w", n, table, err)
		}
	}
	tx.Commit()
	s.latest.Store(hdr.Index)
	s.scopes.floor = hdr.Index
	return s, nil
}

// lineReader returns a stream's lines one at a time, in one buffer reused
// for every line, skipping blank ones.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
}

func (l *lineReader) next() ([]byte, error) {
	for {
		l.buf = l.buf[:0]
		for {
			chunk, err := l.r.ReadSlice('\n')
			l.buf = append(l.buf, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF && len(l.buf) > 0 {
				break // a last line without its newline
			}
			if err != nil {
				return nil, err
			}
			break
		}
		if line := bytes.TrimSpace(l.buf); len(line) > 0 {
			return line, nil
		}
	}
}

// decodeRow decodes one row line, {"t":table,"v":row}, the row straight
// into the type its table's constructor makes; a line in another shape
// (keys in another order, spaces) is decoded the general way, which also
// says what is wrong with a bad one.
func decodeRow(line []byte, ctor map[string]func() interface{}) (string, interface{}, error) {
	const open, mid = `{"t":"`, `","v":`
	if rest, ok := bytes.CutPrefix(line, []byte(open)); ok {
		if i := bytes.Index(rest, []byte(mid)); i > 0 && bytes.IndexByte(rest[:i], '\\') < 0 && rest[len(rest)-1] == '}' {
			table := string(rest[:i])
			mk, ok := ctor[table]
			if !ok {
				return "", nil, fmt.Errorf("unknown table %q", table)
			}
			v := mk()
			if json.Unmarshal(rest[i+len(mid):len(rest)-1], v) == nil {
				return table, v, nil
			}
		}
	}
	var row snapRow
	if err := json.Unmarshal(line, &row); err != nil {
		return "", nil, err
	}
	mk, ok := ctor[row.T]
	if !ok {
		return "", nil, fmt.Errorf("unknown table %q", row.T)
	}
	v := mk()
	if err := json.Unmarshal(row.V, v); err != nil {
		return "", nil, fmt.Errorf("(%s): %w", row.T, err)
	}
	return row.T, v, nil
}

// TagSnapshot returns the snapshot stream r with tag in its header, and
// by how many bytes that makes the stream longer. A leader restoring a
// user's archive builds the new store as it checks the archive; raft then
// hands the same snapshot to its FSM, which knows it by the tag
// (SnapshotTag) and takes that store instead of building a second one.
func TagSnapshot(r io.Reader, tag string) (io.Reader, int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, 0, fmt.Errorf("snapshot header: %w", err)
	}
	var hdr snapHeader
	if err := json.Unmarshal(line, &hdr); err != nil {
		return nil, 0, fmt.Errorf("snapshot header: %w", err)
	}
	hdr.Restore = tag
	tagged, err := json.Marshal(hdr)
	if err != nil {
		return nil, 0, err
	}
	tagged = append(tagged, '\n')
	return io.MultiReader(bytes.NewReader(tagged), br), int64(len(tagged) - len(line)), nil
}

// SnapshotTag reads the tag in a snapshot's header, "" if none, and
// returns the whole stream to read again.
func SnapshotTag(r io.Reader) (string, io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4096)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		var hdr snapHeader
		if json.Unmarshal(head[:i], &hdr) == nil {
			return hdr.Restore, br
		}
	}
	return "", br
}
