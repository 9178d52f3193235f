package dns

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Answering a question must cost little more than the socket calls: the
// load this interface is built for is tens of thousands of questions a
// second about a handful of services. So a catalog read, once made, is kept
// as a view: a goroutine holds a blocking query on what was read (the
// service's health entries, the node) and replaces the view's value each
// time the query returns with a new index. A question then reads memory
// only, and the value it reads is never older than the time the blocking
// query takes to wake, a few microseconds on a server agent.
//
// Views are made only for reads that found something (a flood of questions
// about names that do not exist makes no goroutines), at most maxViews of
// each kind (beyond that, reads go to the backend every time), and a view
// nobody asked about for viewIdle stops.
const (
	maxViews = 1024
	viewIdle = time.Minute
	// minRefetch spaces the reads of a view whose backend returns at once
	// with an unchanged index (one that does not block).
	minRefetch = time.Second
)

// fetchFunc reads the value of key; with minIndex > 0 it blocks until the
// value's index differs from minIndex or wait passes.
type fetchFunc[K comparable, V any] func(ctx context.Context, key K, minIndex uint64, wait time.Duration) (*V, uint64, error)

type views[K comparable, V any] struct {
	ctx   context.Context
	fetch fetchFunc[K, V]
	max   int           // maxViews
	idle  time.Duration // viewIdle
	wg    sync.WaitGroup

	mu sync.RWMutex
	m  map[K]*view[V]
}

type view[V any] struct {
	val      atomic.Pointer[V]
	lastUsed atomic.Int64 // unix nanoseconds, within touchEvery
}

func newViews[K comparable, V any](ctx context.Context, fetch fetchFunc[K, V]) *views[K, V] {
	return &views[K, V]{ctx: ctx, fetch: fetch, max: maxViews, idle: viewIdle, m: make(map[K]*view[V])}
}

// get returns the value of key, from its view when there is one. keep
// tells whether a freshly read value deserves a view.
func (vs *views[K, V]) get(key K, keep func(*V) bool) (*V, error) {
	vs.mu.RLock()
	v := vs.m[key]
	vs.mu.RUnlock()
	if v != nil {
		v.touch()
		return v.val.Load(), nil
	}
	val, idx, err := vs.fetch(vs.ctx, key, 0, 0)
	if err != nil {
		return nil, err
	}
	if keep(val) {
		vs.start(key, val, idx)
	}
	return val, nil
}

func (v *view[V]) touch() {
	now := time.Now().UnixNano()
	if now-v.lastUsed.Load() > int64(touchEvery) {
		v.lastUsed.Store(now)
	}
}

// touchEvery is how stale a view's last use may be recorded: writing it
// on every question would make every core write the same cache line.
const touchEvery = 100 * time.Millisecond

// start makes a view of key with a first value read at index idx.
func (vs *views[K, V]) start(key K, val *V, idx uint64) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.ctx.Err() != nil || len(vs.m) >= vs.max || vs.m[key] != nil {
		return
	}
	v := &view[V]{}
	v.val.Store(val)
	v.touch()
	vs.m[key] = v
	vs.wg.Add(1)
	go vs.watch(key, v, idx)
}

// watch keeps v current until it goes unused or the server shuts down.
func (vs *views[K, V]) watch(key K, v *view[V], idx uint64) {
	defer vs.wg.Done()
	defer vs.drop(key, v)
	for {
		began := time.Now()
		val, next, err := vs.fetch(vs.ctx, key, idx, vs.idle)
		if err != nil || vs.ctx.Err() != nil {
			// The next question reads the backend itself and starts over.
			return
		}
		v.val.Store(val)
		if time.Since(time.Unix(0, v.lastUsed.Load())) > vs.idle {
			return
		}
		if next == idx && time.Since(began) < minRefetch {
			select {
			case <-time.After(minRefetch):
			case <-vs.ctx.Done():
				return
			}
		}
		idx = next
	}
}

func (vs *views[K, V]) drop(key K, v *view[V]) {
	vs.mu.Lock()
	if vs.m[key] == v {
		delete(vs.m, key)
	}
	vs.mu.Unlock()
}

// wait returns when every watch has stopped; the context must be done.
func (vs *views[K, V]) wait() { vs.wg.Wait() }

// len is the number of live views.
func (vs *views[K, V]) len() int {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	return len(vs.m)
}
