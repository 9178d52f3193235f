package state

import (
	"strings"
	"sync"

	"github.com/hashicorp/go-memdb"
)

// scopes records, outside memdb, the last index at which each scope (a
// table, one service, one node, the service list, ...) changed, with a
// channel closed at its next change.
//
// Ordering makes this safe without a shared transaction: a writer updates
// scopes after its memdb commit, and a reader takes the scope before its
// memdb snapshot. A reader can therefore see new data with the previous
// index (its client comes back at once and gets the new index), but never
// old data with a new index, which would hide a change.
type scopes struct {
	// floor is the index of a restored snapshot: no scope reads lower.
	floor   uint64
	mu      sync.RWMutex
	m       map[string]*scopeEntry
	created map[string]chan struct{} // per kind: closed when a scope of that kind first appears
}

type scopeEntry struct {
	idx uint64
	ch  chan struct{}
}

func newScopes() *scopes {
	return &scopes{m: map[string]*scopeEntry{}, created: map[string]chan struct{}{}}
}

// kind is the part of a scope name before its first dot ("svc" of
// "svc.web"); a table scope is its own kind.
func kind(scope string) string {
	if i := strings.IndexByte(scope, '.'); i >= 0 {
		return scope[:i]
	}
	return scope
}

// get returns a scope's index (0 if it never changed) and adds to ws the
// channel that fires when it changes, or when it first appears.
func (s *scopes) get(ws memdb.WatchSet, scope string) uint64 {
	s.mu.RLock()
	if e, ok := s.m[scope]; ok {
		idx, ch := e.idx, e.ch
		s.mu.RUnlock()
		ws.Add(ch)
		return max(idx, s.floor)
	}
	ch, ok := s.created[kind(scope)]
	s.mu.RUnlock()
	if !ok {
		s.mu.Lock()
		if ch, ok = s.created[kind(scope)]; !ok {
			ch = make(chan struct{})
			s.created[kind(scope)] = ch
		}
		s.mu.Unlock()
	}
	ws.Add(ch)
	return s.floor
}

// set records a change at idx on every scope named and wakes their
// watchers.
func (s *scopes) set(idx uint64, touched map[string]struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for scope := range touched {
		e, ok := s.m[scope]
		if !ok {
			s.m[scope] = &scopeEntry{idx: idx, ch: make(chan struct{})}
			k := kind(scope)
			if ch, ok := s.created[k]; ok {
				close(ch)
				delete(s.created, k)
			}
			continue
		}
		e.idx = idx
		close(e.ch)
		e.ch = make(chan struct{})
	}
}
