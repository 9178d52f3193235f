package server

import (
	"context"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// queryFn runs a read against a store, fills the reply and sets meta.Index
// to the index of its own result, adding what it read to ws.
type queryFn func(ws memdb.WatchSet, st *state.Store) error

// blockingQuery runs fn once, or, when the client sent an index, until the
// result's index differs from it or the wait runs out. Because every read
// reports the index of its own result, a write that does not change the
// result wakes nothing, or at worst re-runs fn and goes back to sleep.
//
// An index lower than the client's (the data was reset or reaped) returns at
// once so the client can start over, as Consul clients expect.
func (s *Server) blockingQuery(ctx context.Context, opts *structs.QueryOptions, meta *structs.QueryMeta, fn queryFn) error {
	s.setQueryMeta(meta)
	if opts.MinIndex == 0 {
		return fn(nil, s.Store())
	}
	timer := time.NewTimer(structs.BlockWait(opts.MaxWait))
	defer timer.Stop()
	for {
		st := s.Store()
		ws := memdb.NewWatchSet()
		ws.Add(st.AbandonCh())
		if err := fn(ws, st); err != nil {
			return err
		}
		if meta.Index != opts.MinIndex {
			return nil
		}
		if !wait(ctx, ws, timer.C) {
			return nil
		}
	}
}

// wait blocks until a channel of ws fires (true), or the wait ends or the
// client leaves (false). Small sets, the common case, are waited on with a
// plain select.
func wait(ctx context.Context, ws memdb.WatchSet, timeout <-chan time.Time) bool {
	var c [3]<-chan struct{}
	n := 0
	for ch := range ws {
		if n == len(c) {
			n = -1
			break
		}
		c[n] = ch
		n++
	}
	if n < 0 {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-timeout:
				cancel()
			case <-ctx.Done():
			}
		}()
		return ws.WatchCtx(ctx) == nil
	}
	select {
	case <-c[0]:
	case <-c[1]:
	case <-c[2]:
	case <-timeout:
		return false
	case <-ctx.Done():
		return false
	}
	return true
}

// setQueryMeta fills what the server knows about leadership: whether
// there is a leader, and how long ago this server last heard from it.
func (s *Server) setQueryMeta(meta *structs.QueryMeta) {
	if s.raft == nil || s.IsLeader() {
		meta.KnownLeader, meta.LastContact = true, 0
		return
	}
	addr, _ := s.raft.LeaderWithID()
	meta.KnownLeader = addr != ""
	if last := s.raft.LastContact(); !last.IsZero() {
		meta.LastContact = time.Since(last)
	}
}
