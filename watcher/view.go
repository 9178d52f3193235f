package watcher

import (
	"context"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/watcher/consul"
	"github.com/beacon-sd/beacon/watcher/dep"
)

// quietReturn is the least time an unchanged blocking answer must take
// before the next query goes out at once; a server that keeps answering
// with the same index straight away is asked again only after it.
const quietReturn = time.Second

// view keeps one dependency's data current. It is driven by callbacks: a
// query in flight or a wait between queries costs a pending callback, not
// a goroutine, so a thousand parked blocking queries cost next to nothing.
//
// It follows the rules of a blocking-query client: an answer with the
// index it was asked with is a timeout, not a change; an index that went
// backwards starts over from 0; data equal to what it had is not a change;
// a stale answer older than MaxStale is asked again of the leader; errors
// back off exponentially with jitter.
type view struct {
	w      *Watcher
	dep    dep.Dependency
	key    string
	ctx    context.Context
	cancel context.CancelFunc
	poll   time.Duration

	// Loop state, touched by one callback at a time.
	index    uint64
	stale    bool
	failures int

	mu       sync.Mutex
	data     any
	received bool
	lastErr  error
	since    time.Time
	// Once mode: parked waits for Follow; followed records a Follow that
	// came while a query was out.
	parked   bool
	followed bool
	// edge is the index at which an instance list went to or from
	// empty, until ListsBehind reports it; 0 for none.
	edge uint64
	// atIndex are called once the view answered from their index.
	atIndex []indexWaiter
	// restTimer stops the view while it rests (Watcher.Retain); restGen
	// tells the timer of this rest from one of an earlier rest. Both are
	// guarded by the watcher's mu.
	restTimer *time.Timer
	restGen   int
	// hidden keeps the data of a view that came back from resting from
	// templates until it is known to be as new as everything else they
	// read: an answer from hiddenUntil or later, or a read made after
	// it came back. revivals tells a late read of an earlier return.
	hidden      bool
	hiddenUntil uint64
	revivals    int
}

type indexWaiter struct {
	index uint64
	fire  func()
}

// whenAt calls fire once the view has answered from index or later, at
// once if it has.
func (v *view) whenAt(index uint64, fire func()) {
	v.mu.Lock()
	if v.index >= index {
		v.mu.Unlock()
		fire()
		return
	}
	v.atIndex = append(v.atIndex, indexWaiter{index: index, fire: fire})
	v.mu.Unlock()
}

// reached fires the waiters of indexes up to the view's.
func (v *view) reached() {
	v.mu.Lock()
	var due []func()
	keep := v.atIndex[:0]
	for _, wt := range v.atIndex {
		if v.index >= wt.index {
			due = append(due, wt.fire)
		} else {
			keep = append(keep, wt)
		}
	}
	v.atIndex = keep
	v.mu.Unlock()
	for _, f := range due {
		f()
	}
}

func (v *view) status() Status {
	v.mu.Lock()
	defer v.mu.Unlock()
	return Status{Key: v.key, Received: v.received, LastIndex: v.index, LastErr: v.lastErr, Failures: v.failures, Since: v.since}
}

func (v *view) start() {
	if p, ok := v.dep.(dep.Poller); ok {
		v.poll = p.PollInterval()
	}
	v.stale = v.w.opts.MaxStale > 0
	v.mu.Lock()
	v.since = time.Now()
	v.mu.Unlock()
	v.fetch()
}

// fetch sends the next query; its answer arrives in handle.
func (v *view) fetch() {
	if !v.w.begin(v.ctx) {
		return
	}
	q := consul.QueryOptions{AllowStale: v.stale}
	if v.poll == 0 {
		q.WaitIndex, q.WaitTime = v.index, v.w.opts.BlockWait
	}
	start := time.Now()
	done := func(data any, meta consul.Meta, err error) {
		defer v.w.end()
		v.handle(data, meta, err, time.Since(start))
	}
	if a, ok := v.dep.(dep.AsyncDependency); ok {
		a.FetchAsync(v.ctx, v.w.client, q, done)
		return
	}
	go func() { done(v.dep.Fetch(v.ctx, v.w.client, q)) }()
}

func (v *view) handle(data any, meta consul.Meta, err error, took time.Duration) {
	o := v.w.opts
	if v.ctx.Err() != nil {
		return
	}
	if err != nil {
		v.setError(err)
		if !o.Retry.Enabled || o.Retry.Attempts > 0 && v.failures >= o.Retry.Attempts+1 {
			if v.w.stopResting(v) {
				return // no template needs it: not worth failing for
			}
			v.w.fail(&WatchError{Key: v.key, Attempts: v.failures, Err: err})
			return
		}
		wait := backoff(o.Retry, v.failures)
		v.w.log.Warn("query failed, retrying", "dependency", v.key, "error", err, "attempt", v.failures, "retry_in", wait.Round(time.Millisecond))
		v.after(wait)
		return
	}
	v.mu.Lock()
	v.failures = 0
	v.mu.Unlock()
	if v.stale && meta.LastContact > o.MaxStale {
		v.w.log.Debug("stale answer too old, asking the leader", "dependency", v.key, "last_contact", meta.LastContact)
		v.stale = false
		v.fetch()
		return
	}
	v.stale = o.MaxStale > 0
	unchanged := v.hasData() && v.index > 0 && meta.LastIndex == v.index
	poll := v.poll
	index := meta.LastIndex
	switch {
	case meta.LastIndex == 0:
		// No index: nothing to block on; read it again after a pause.
		if poll == 0 {
			poll = quietReturn
		}
	case meta.LastIndex < v.index:
		// The index went backwards (a restored snapshot, a new
		// server): start over without blocking.
		index = 0
	}
	if unchanged {
		v.mu.Lock()
		v.index = index
		v.mu.Unlock()
	} else {
		v.deliver(data, index)
	}
	v.reached()
	if v.w.opts.Once && !v.park() {
		return
	}
	switch {
	case poll > 0:
		v.after(poll)
	case unchanged && took < quietReturn:
		v.after(quietReturn - took)
	default:
		v.fetch()
	}
}

// park stops a Once-mode view until Follow; it reports false when the view
// is to stop here.
func (v *view) park() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.followed {
		v.followed = false
		return true
	}
	v.parked = true
	return false
}

// follow wakes a parked view, or remembers the request for when it parks.
func (v *view) follow() {
	v.mu.Lock()
	parked := v.parked
	v.parked = false
	if !parked {
		v.followed = true
	}
	v.mu.Unlock()
	if parked {
		v.fetch()
	}
}

// after queries again once d has passed, or not at all if the view stops
// first.
func (v *view) after(d time.Duration) {
	if !v.w.begin(v.ctx) {
		return
	}
	var once sync.Once
	end := func() { once.Do(v.w.end) }
	var stop func() bool
	ready := make(chan struct{})
	t := time.AfterFunc(d, func() {
		<-ready
		stop() // no longer needed: unregister from the context
		defer end()
		v.fetch()
	})
	stop = context.AfterFunc(v.ctx, func() {
		if t.Stop() {
			end()
		}
	})
	close(ready)
}

func (v *view) hasData() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.received
}

// deliver stores data answered from index and tells the watcher's owner,
// unless it equals what the view had. The index and the data change
// together: a view coming back from resting judges its data by the index.
func (v *view) deliver(data any, index uint64) {
	v.mu.Lock()
	v.index = index
	changed := v.storeLocked(data)
	shown := v.hidden && v.index >= v.hiddenUntil
	if shown {
		v.hidden = false
	}
	hidden := v.hidden
	v.mu.Unlock()
	if changed && !hidden || shown {
		v.w.log.Trace("data changed", "dependency", v.key, "index", v.index)
		v.w.mark(v.key)
	}
}

// revive brings back a view that rested. Its data is shown at once when it
// answered from target (the newest index of the running views) or later;
// otherwise it is hidden until its own query answers from target or a
// read made now answers, whichever comes first.
func (v *view) revive(target uint64) {
	v.mu.Lock()
	v.revivals++
	gen := v.revivals
	fresh := v.received && v.index >= target
	v.hidden, v.hiddenUntil = !fresh, target
	v.mu.Unlock()
	if fresh {
		v.w.log.Trace("resting view back, up to date", "dependency", v.key)
		v.w.mark(v.key)
		return
	}
	if !v.w.begin(v.ctx) {
		return
	}
	go func() {
		defer v.w.end()
		data, meta, err := v.dep.Fetch(v.ctx, v.w.client, consul.QueryOptions{AllowStale: v.w.opts.MaxStale > 0})
		if v.ctx.Err() != nil {
			return
		}
		if err != nil {
			// Let a new view do the retrying and the reporting.
			v.w.restart(v)
			return
		}
		v.mu.Lock()
		if !v.hidden || v.revivals != gen {
			v.mu.Unlock()
			return // its own query answered first
		}
		if meta.LastIndex >= v.index {
			v.storeLocked(data)
		}
		v.hidden = false
		v.mu.Unlock()
		v.w.log.Trace("resting view back, read again", "dependency", v.key)
		v.w.mark(v.key)
	}()
}

// refreshed stores data read outside the view's loop at index idx, unless
// the view has meanwhile answered from a later index.
func (v *view) refreshed(data any, idx uint64) {
	v.mu.Lock()
	changed := idx >= v.index && v.storeLocked(data)
	v.mu.Unlock()
	if changed {
		v.w.log.Debug("data changed on a second look", "dependency", v.key, "index", idx)
		v.w.mark(v.key)
	}
}

// storeLocked keeps data as the view's value and reports whether it
// differs from the last; it notes an instance list going to or from empty.
func (v *view) storeLocked(data any) bool {
	same := v.received && reflect.DeepEqual(v.data, data)
	if il, ok := v.dep.(dep.InstanceList); ok && v.received && !same && il.Empty(v.data) != il.Empty(data) {
		v.edge = v.index
	}
	v.data, v.received = data, true
	v.lastErr, v.since = nil, time.Now()
	return !same
}

func (v *view) setError(err error) {
	v.mu.Lock()
	v.lastErr = err
	v.failures++
	v.mu.Unlock()
}

// backoff is the wait after the n-th failure in a row: Backoff doubled per
// failure, capped at MaxBackoff, randomized to between half and all of it.
func backoff(r Retry, n int) time.Duration {
	d := r.Backoff
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	if d > r.MaxBackoff {
		d = r.MaxBackoff
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
