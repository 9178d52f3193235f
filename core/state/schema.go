package state

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// Table names.
const (
	tableIndex         = "index"
	tableNodes         = "nodes"
	tableServices      = "services"
	tableChecks        = "checks"
	tableKVs           = "kvs"
	tableTombstones    = "tombstones"
	tableSessions      = "sessions"
	tableSessionChecks = "session_checks"
	tableRequests      = "requests"
	tableACLTokens     = "acl_tokens"
	tableACLPolicies   = "acl_policies"
	tableCAConfig      = "connect_ca_config"
	tableCARoots       = "connect_ca_roots"
	tableACLRoles      = "acl_roles"
	tableACLMethods    = "acl_auth_methods"
	tableACLRules      = "acl_binding_rules"
)

// appliedRequest remembers the outcome of a write that carried a request
// ID, so that a retry of it returns the same outcome without applying it
// again.
type appliedRequest struct {
	ID    string
	Index uint64
	OK    bool
	Err   string `json:",omitempty"`
	Kind  string `json:",omitempty"` // of Err, see failureKinds
}

// failureKinds are the codes (structs.ErrorCode) of the errors whose kind
// a remembered failure keeps, so a retry fails as the write did; any other
// failure comes back as bad input.
var failureKinds = map[string]bool{"badsess": true, "nosess": true}

// failedRequest remembers err as the outcome of request id.
func failedRequest(id string, idx uint64, err error) appliedRequest {
	r := appliedRequest{ID: id, Index: idx, Err: err.Error()}
	if code := structs.ErrorCode(err); failureKinds[code] {
		r.Kind = code
	}
	return r
}

// failure is the error a retry of a remembered failed request returns.
func (r appliedRequest) failure() error {
	if failureKinds[r.Kind] {
		return &replayedError{msg: r.Err, kind: structs.ErrorKind(r.Kind)}
	}
	return structs.BadInput("%s", r.Err)
}

// replayedError is a remembered failure of a known kind.
type replayedError struct {
	msg  string
	kind error
}

func (e *replayedError) Error() string { return e.msg }
func (e *replayedError) Unwrap() error { return e.kind }

// indexEntry is one row of the index table: replicated index bookkeeping
// (the KV reap floor). Per-scope change indexes live in scopes instead.
type indexEntry struct {
	Key   string
	Value uint64
}

// tombstone remembers that a KV key was deleted, and when, so that a blocking
// read of a prefix sees the delete as a change.
type tombstone struct {
	Key   string
	Index uint64
}

// sessionCheck binds a session to a check on its node.
type sessionCheck struct {
	Node    string
	CheckID string
	Session string
}

func schema() *memdb.DBSchema {
	str := func(field string, lower bool) *fieldIndex {
		return &fieldIndex{StringFieldIndex: memdb.StringFieldIndex{Field: field, Lowercase: lower}}
	}
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableAutopilot: autopilotSchema(),
		tableQueries:   queriesTable(),
		tableIndex: {Name: tableIndex, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: str("Key", false)},
		}},
		tableNodes: {Name: tableNodes, Indexes: map[string]*memdb.IndexSchema{
			"id":   {Name: "id", Unique: true, Indexer: str("Node", true)},
			"uuid": {Name: "uuid", Unique: true, AllowMissing: true, Indexer: str("ID", true)},
		}},
		tableServices: {Name: tableServices, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				str("Node", true), str("ID", false),
			}}},
			"node":    {Name: "node", Indexer: str("Node", true)},
			"service": {Name: "service", AllowMissing: true, Indexer: str("Service", true)},
		}},
		tableChecks: {Name: tableChecks, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				str("Node", true), str("CheckID", false),
			}}},
			"node":   {Name: "node", Indexer: str("Node", true)},
			"status": {Name: "status", Indexer: str("Status", false)},
		}},
		tableKVs: {Name: tableKVs, Indexes: map[string]*memdb.IndexSchema{
			"id":      {Name: "id", Unique: true, Indexer: str("Key", false)},
			"session": {Name: "session", AllowMissing: true, Indexer: str("Session", false)},
		}},
		tableTombstones: {Name: tableTombstones, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: str("Key", false)},
		}},
		tableSessions: {Name: tableSessions, Indexes: map[string]*memdb.IndexSchema{
			"id":   {Name: "id", Unique: true, Indexer: str("ID", true)},
			"node": {Name: "node", Indexer: str("Node", true)},
		}},
		tableACLTokens: {Name: tableACLTokens, Indexes: map[string]*memdb.IndexSchema{
			"id":     {Name: "id", Unique: true, Indexer: str("AccessorID", false)},
			"secret": {Name: "secret", Unique: true, AllowMissing: true, Indexer: secretIndex{}},
		}},
		tableACLPolicies: {Name: tableACLPolicies, Indexes: map[string]*memdb.IndexSchema{
			"id":   {Name: "id", Unique: true, Indexer: str("ID", false)},
			"name": {Name: "name", Unique: true, Indexer: str("Name", true)},
		}},
		tableCAConfig: {Name: tableCAConfig, Indexes: map[string]*memdb.IndexSchema{
			// One row: the configuration.
			"id": {Name: "id", Unique: true, Indexer: &memdb.ConditionalIndex{
				Conditional: func(interface{}) (bool, error) { return true, nil }}},
		}},
		tableCARoots: {Name: tableCARoots, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: str("ID", false)},
		}},
		tableACLRoles: {Name: tableACLRoles, Indexes: map[string]*memdb.IndexSchema{
			"id":   {Name: "id", Unique: true, Indexer: str("ID", false)},
			"name": {Name: "name", Unique: true, Indexer: str("Name", true)},
		}},
		tableACLMethods: {Name: tableACLMethods, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: str("Name", false)},
		}},
		tableACLRules: {Name: tableACLRules, Indexes: map[string]*memdb.IndexSchema{
			"id":     {Name: "id", Unique: true, Indexer: str("ID", false)},
			"method": {Name: "method", Indexer: str("AuthMethod", false)},
		}},
		tableSessionChecks: {Name: tableSessionChecks, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				str("Node", true), str("CheckID", false), str("Session", true),
			}}},
			"node_check": {Name: "node_check", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				str("Node", true), str("CheckID", false),
			}}},
			"session": {Name: "session", Indexer: str("Session", true)},
		}},
	}}
}

// fieldIndex indexes rows by a string field as memdb.StringFieldIndex does
// (lookups and prefixes are its own), but finds the field by name once per
// row type instead of on every insert, where the search by name was a
// tenth of a KV write's cost.
type fieldIndex struct {
	memdb.StringFieldIndex
	fields sync.Map // reflect.Type of the row → the field's index path
}

func (x *fieldIndex) FromObject(obj interface{}) (bool, []byte, error) {
	v := reflect.Indirect(reflect.ValueOf(obj))
	if v.Kind() != reflect.Struct {
		return false, nil, fmt.Errorf("index on %s: row %T is not a struct", x.Field, obj)
	}
	var path []int
	if p, ok := x.fields.Load(v.Type()); ok {
		path = p.([]int)
	} else {
		f, ok := v.Type().FieldByName(x.Field)
		if !ok || f.Type.Kind() != reflect.String {
			return false, nil, fmt.Errorf("index on %s: row %T has no such string field", x.Field, obj)
		}
		path = f.Index
		x.fields.Store(v.Type(), path)
	}
	val := v.FieldByIndex(path).String()
	if val == "" {
		return false, nil, nil
	}
	if x.Lowercase {
		val = strings.ToLower(val)
	}
	key := make([]byte, len(val)+1) // NUL-terminated, as StringFieldIndex does
	copy(key, val)
	return true, key, nil
}
