package state

import (
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/query"
	"github.com/beacon-sd/beacon/core/structs"
)

// tableQueries holds prepared queries; it is also their one scope: a read
// of any query watches every write to any of them, as queries are few and
// rarely written.
const tableQueries = "prepared_queries"

func queriesTable() *memdb.TableSchema {
	str := func(field string) *fieldIndex {
		return &fieldIndex{StringFieldIndex: memdb.StringFieldIndex{Field: field, Lowercase: true}}
	}
	return &memdb.TableSchema{Name: tableQueries, Indexes: map[string]*memdb.IndexSchema{
		"id":       {Name: "id", Unique: true, Indexer: str("ID")},
		"name":     {Name: "name", Unique: true, AllowMissing: true, Indexer: str("Name")},
		"template": {Name: "template", Unique: true, AllowMissing: true, Indexer: templateIndex{}},
		"session":  {Name: "session", AllowMissing: true, Indexer: str("Session")},
	}}
}

// templateIndex indexes templates by their lower-case Name behind a NUL,
// so that a template without a name (a catch-all) has a key too, and the
// longest template name that prefixes a name is found in one lookup.
type templateIndex struct{}

func (templateIndex) FromObject(obj interface{}) (bool, []byte, error) {
	q, ok := obj.(*structs.PreparedQuery)
	if !ok {
		return false, nil, fmt.Errorf("template index: row %T is not a prepared query", obj)
	}
	if !q.IsTemplate() {
		return false, nil, nil
	}
	return true, []byte("\x00" + strings.ToLower(q.Name)), nil
}

func (templateIndex) FromArgs(args ...interface{}) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("template index: one argument, not %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("template index: argument %T is not a string", args[0])
	}
	return []byte("\x00" + strings.ToLower(s)), nil
}

func (x templateIndex) PrefixFromArgs(args ...interface{}) ([]byte, error) {
	return x.FromArgs(args...)
}

func (t *txn) preparedQueryApply(req *structs.PreparedQueryRequest) error {
	if req.Query == nil || req.Query.ID == "" {
		return structs.BadInput("prepared query %s without a query ID", req.Op)
	}
	switch req.Op {
	case structs.PreparedQueryCreate, structs.PreparedQueryUpdate:
		return t.preparedQuerySet(req.Op, req.Query)
	case structs.PreparedQueryDelete:
		old, err := t.queryByID(req.Query.ID)
		if err != nil {
			return err
		}
		if old == nil {
			return structs.BadInput("Cannot delete non-existent prepared query: '%s'", req.Query.ID)
		}
		return t.deleteQuery(old)
	}
	return structs.BadInput("unknown prepared query operation %q", req.Op)
}

func (t *txn) queryByID(id string) (*structs.PreparedQuery, error) {
	raw, err := t.First(tableQueries, "id", id)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.PreparedQuery), nil
}

// preparedQuerySet creates or replaces a query after the checks that need
// the store: a name no other query has, one catch-all template at most, a
// name that is no other query's ID, a session that exists.
func (t *txn) preparedQuerySet(op structs.PreparedQueryOp, q *structs.PreparedQuery) error {
	old, err := t.queryByID(q.ID)
	if err != nil {
		return err
	}
	switch {
	case op == structs.PreparedQueryCreate && old != nil:
		return structs.BadInput("prepared query %s already exists", q.ID)
	case op == structs.PreparedQueryUpdate && old == nil:
		return structs.BadInput("Cannot modify non-existent prepared query: '%s'", q.ID)
	}
	other := func(index, arg string) (bool, error) {
		raw, err := t.First(tableQueries, index, arg)
		if err != nil || raw == nil {
			return false, err
		}
		return raw.(*structs.PreparedQuery).ID != q.ID, nil
	}
	if q.Name != "" {
		if taken, err := other("name", q.Name); err != nil || taken {
			return orInput(err, "name '%s' aliases an existing query name", q.Name)
		}
		if structs.IsUUID(q.Name) {
			if taken, err := other("id", q.Name); err != nil || taken {
				return orInput(err, "name '%s' aliases an existing query ID", q.Name)
			}
		}
	} else if q.IsTemplate() {
		if taken, err := other("template", ""); err != nil || taken {
			return orInput(err, "a query template with an empty name already exists")
		}
	}
	if q.Session != "" {
		raw, err := t.First(tableSessions, "id", q.Session)
		if err != nil {
			return err
		}
		if raw == nil {
			return fmt.Errorf("%w %q: a prepared query can only be bound to a session that exists", structs.ErrInvalidSession, q.Session)
		}
	}
	if q.IsTemplate() {
		if _, err := query.Compile(q); err != nil {
			return structs.BadInput("Invalid prepared query: %v", err)
		}
	}
	row := q.Clone()
	row.CreateIndex, row.ModifyIndex = t.idx, t.idx
	if old != nil {
		row.CreateIndex = old.CreateIndex
	}
	if err := t.Insert(tableQueries, row); err != nil {
		return err
	}
	t.touch(tableQueries)
	return nil
}

// orInput is err when there is one, else bad input saying what.
func orInput(err error, format string, args ...interface{}) error {
	if err != nil {
		return err
	}
	return structs.BadInput(format, args...)
}

func (t *txn) deleteQuery(q *structs.PreparedQuery) error {
	if err := t.Delete(tableQueries, q); err != nil {
		return err
	}
	t.touch(tableQueries)
	return nil
}

// deleteSessionQueries deletes the queries bound to a session that is
// going away.
func (t *txn) deleteSessionQueries(session string) error {
	it, err := t.Get(tableQueries, "session", session)
	if err != nil {
		return err
	}
	var doomed []*structs.PreparedQuery
	for raw := it.Next(); raw != nil; raw = it.Next() {
		doomed = append(doomed, raw.(*structs.PreparedQuery))
	}
	for _, q := range doomed {
		if err := t.deleteQuery(q); err != nil {
			return err
		}
	}
	return nil
}

// PreparedQueryGet reads one query by ID, nil when there is none.
func (s *Store) PreparedQueryGet(ws memdb.WatchSet, id string) (uint64, *structs.PreparedQuery, error) {
	idx := s.scopeIndex(ws, tableQueries)
	raw, err := s.readTxn().First(tableQueries, "id", id)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*structs.PreparedQuery), nil
}

// PreparedQueryList lists every query.
func (s *Store) PreparedQueryList(ws memdb.WatchSet) (uint64, []*structs.PreparedQuery, error) {
	idx := s.scopeIndex(ws, tableQueries)
	it, err := s.readTxn().Get(tableQueries, "id")
	if err != nil {
		return 0, nil, err
	}
	out := []*structs.PreparedQuery{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.PreparedQuery))
	}
	return atLeastOne(idx), out, nil
}

// PreparedQueryResolve finds the query an ID or a name stands for: the
// query with that ID (a template cannot be executed by ID), else the query
// with that name, else the template with the longest name that prefixes
// it. A template comes back rendered for the name; segment is the asking
// agent's network segment. Nil when nothing answers the name.
func (s *Store) PreparedQueryResolve(ws memdb.WatchSet, idOrName, segment string) (uint64, *structs.PreparedQuery, error) {
	idx := atLeastOne(s.scopeIndex(ws, tableQueries))
	if idOrName == "" {
		return idx, nil, structs.BadInput("Missing prepared query ID or name")
	}
	tx := s.readTxn()
	if structs.IsUUID(idOrName) {
		raw, err := tx.First(tableQueries, "id", idOrName)
		if err != nil {
			return idx, nil, err
		}
		if raw != nil {
			q := raw.(*structs.PreparedQuery)
			if q.IsTemplate() {
				return idx, nil, structs.BadInput("prepared query %s is a template: templates are executed by name, not by ID", q.ID)
			}
			return idx, q, nil
		}
	}
	raw, err := tx.First(tableQueries, "name", idOrName)
	if err == nil && raw == nil {
		raw, err = tx.LongestPrefix(tableQueries, "template_prefix", idOrName)
	}
	if err != nil || raw == nil {
		return idx, nil, err
	}
	q := raw.(*structs.PreparedQuery)
	if !q.IsTemplate() {
		return idx, q, nil
	}
	tmpl, err := templates.get(q)
	if err != nil {
		return idx, nil, fmt.Errorf("prepared query template %s: %w", q.ID, err)
	}
	r, err := tmpl.Render(idOrName, segment)
	return idx, r, err
}

// templates keeps templates compiled, by their row: rows never change (a
// write stores a new one), so a row's template is compiled once, not on
// every question a catch-all template answers.
var templates = &templateCache{m: map[*structs.PreparedQuery]*query.Template{}}

// maxTemplates bounds the cache; beyond it, it starts over.
const maxTemplates = 256

type templateCache struct {
	mu sync.Mutex
	m  map[*structs.PreparedQuery]*query.Template
}

func (c *templateCache) get(q *structs.PreparedQuery) (*query.Template, error) {
	c.mu.Lock()
	t, ok := c.m[q]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := query.Compile(q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxTemplates {
		c.m = map[*structs.PreparedQuery]*query.Template{}
	}
	c.m[q] = t
	c.mu.Unlock()
	return t, nil
}
