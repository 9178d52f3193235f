// Package watcher keeps the data templates depend on up to date: one
// blocking-query loop (a view) per distinct dependency, shared by every
// template of the process, with retries, index-reset handling and stale
// reads; it tells its owner which dependencies changed. It also watches
// files on disk for the template sources.
package watcher

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/watcher/consul"
	"github.com/beacon-sd/beacon/watcher/dep"
)

// Retry is how a view retries a failed read.
type Retry struct {
	// Enabled false gives up at the first error.
	Enabled bool
	// Attempts is how many failures in a row end the watch; 0 retries
	// forever.
	Attempts int
	// Backoff is the first wait; each failure doubles it up to
	// MaxBackoff. Every wait is randomized to between half and all of it.
	Backoff, MaxBackoff time.Duration
}

// DefaultRetry is consul-template's: 12 attempts from 250ms up to 1m.
var DefaultRetry = Retry{Enabled: true, Attempts: 12, Backoff: 250 * time.Millisecond, MaxBackoff: time.Minute}

// Options tune a Watcher.
type Options struct {
	Retry Retry
	// MaxStale > 0 lets any server answer; an answer whose last contact
	// with the leader is older than MaxStale is asked again of the leader.
	MaxStale time.Duration
	// BlockWait is the wait of each blocking query; 0 means 5m.
	BlockWait time.Duration
	// Once makes views stop after their first answer unless Follow asks
	// them to keep watching.
	Once   bool
	Logger hclog.Logger
}

// Watcher runs the views. It is safe for concurrent use.
type Watcher struct {
	client *consul.Client
	opts   Options
	log    hclog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	// inflight counts queries out and waits scheduled, so Stop can wait
	// for them to notice the end.
	flightMu sync.Mutex
	flight   int
	landed   *sync.Cond

	mu      sync.Mutex
	views   map[string]*view
	resting map[string]*view // views no template uses now, kept a while
	changed map[string]struct{}
	notify  chan struct{}
	errs    chan error
}

// New returns a watcher reading through c. Views start as dependencies are
// added.
func New(c *consul.Client, o Options) *Watcher {
	if o.BlockWait <= 0 {
		o.BlockWait = 5 * time.Minute
	}
	if o.Retry.Enabled && o.Retry.Backoff <= 0 {
		o.Retry.Backoff = DefaultRetry.Backoff
	}
	if o.Retry.MaxBackoff < o.Retry.Backoff {
		o.Retry.MaxBackoff = o.Retry.Backoff
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{
		client: c, opts: o, log: o.Logger, ctx: ctx, cancel: cancel,
		views: map[string]*view{}, resting: map[string]*view{}, changed: map[string]struct{}{},
		notify: make(chan struct{}, 1), errs: make(chan error, 1),
	}
	w.landed = sync.NewCond(&w.flightMu)
	return w
}

// begin counts a query or wait starting; false if the view has stopped.
func (w *Watcher) begin(ctx context.Context) bool {
	w.flightMu.Lock()
	defer w.flightMu.Unlock()
	if ctx.Err() != nil {
		return false
	}
	w.flight++
	return true
}

// end counts one finished.
func (w *Watcher) end() {
	w.flightMu.Lock()
	w.flight--
	if w.flight == 0 {
		w.landed.Broadcast()
	}
	w.flightMu.Unlock()
}

// Add starts watching d unless a view of the same query runs already. A
// resting view of it comes back (see Retain).
func (w *Watcher) Add(d dep.Dependency) {
	key := d.String()
	w.mu.Lock()
	if _, ok := w.views[key]; ok || w.ctx.Err() != nil {
		w.mu.Unlock()
		return
	}
	if v := w.resting[key]; v != nil {
		delete(w.resting, key)
		v.restTimer.Stop()
		target := w.newestIndexLocked()
		w.views[key] = v
		w.mu.Unlock()
		v.revive(target)
		return
	}
	ctx, cancel := context.WithCancel(w.ctx)
	v := &view{w: w, dep: d, key: key, ctx: ctx, cancel: cancel}
	w.views[key] = v
	w.mu.Unlock()
	// The first query may wait for the protocol to be decided: not
	// under the lock.
	v.start()
}

// restFor is how long a view no template uses keeps watching, and
// maxResting how many do at most.
var (
	restFor    = 2 * time.Minute
	maxResting = 64
)

// Retain drops every view whose key is not in keep: its data is no longer
// recalled, and it stops. Outside Once mode it first rests for restFor,
// its blocking query still out: a template that asks for the dependency
// again (a service whose last instance left gets a new one) often finds
// the answer already there, or on its way, instead of a round trip away.
func (w *Watcher) Retain(keep map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, v := range w.views {
		if keep[key] {
			continue
		}
		delete(w.views, key)
		delete(w.changed, key)
		if w.opts.Once || len(w.resting) >= maxResting {
			v.cancel()
			continue
		}
		w.resting[key] = v
		v.restGen++
		gen := v.restGen
		v.restTimer = time.AfterFunc(restFor, func() { w.restEnded(v, gen) })
	}
}

// stopResting stops v if it still rests; it reports whether it did.
func (w *Watcher) stopResting(v *view) bool { return w.remove(w.resting, v) }

// restEnded stops v when its rest number gen is over, unless it came back
// (or came back and rests again since).
func (w *Watcher) restEnded(v *view, gen int) {
	w.mu.Lock()
	over := v.restGen == gen && w.resting[v.key] == v
	if over {
		delete(w.resting, v.key)
	}
	w.mu.Unlock()
	if over {
		v.cancel()
	}
}

// remove stops v if it is in m, which it leaves; it reports whether it
// was. m is w.views or w.resting.
func (w *Watcher) remove(m map[string]*view, v *view) bool {
	w.mu.Lock()
	found := m[v.key] == v
	if found {
		delete(m, v.key)
	}
	w.mu.Unlock()
	if found {
		v.cancel()
	}
	return found
}

// newestIndexLocked is the highest index any running view answered from.
func (w *Watcher) newestIndexLocked() uint64 {
	var n uint64
	for _, v := range w.views {
		v.mu.Lock()
		n = max(n, v.index)
		v.mu.Unlock()
	}
	return n
}

// restart replaces a view by a new one of the same dependency.
func (w *Watcher) restart(v *view) {
	if w.remove(w.views, v) {
		w.Add(v.dep)
	}
}

// Recall returns the last value fetched for d, and false if there is none
// yet (or d is not watched).
func (w *Watcher) Recall(d dep.Dependency) (any, bool) {
	return w.RecallKey(d.String())
}

// RecallKey is Recall by the dependency's String.
func (w *Watcher) RecallKey(key string) (any, bool) {
	data, _, ok := w.recall(key)
	return data, ok
}

// RecallIndex is Recall with the index the value was answered at.
func (w *Watcher) RecallIndex(d dep.Dependency) (any, uint64, bool) {
	return w.recall(d.String())
}

func (w *Watcher) recall(key string) (any, uint64, bool) {
	w.mu.Lock()
	v := w.views[key]
	w.mu.Unlock()
	if v == nil {
		return nil, 0, false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.hidden {
		return nil, 0, false
	}
	return v.data, v.index, v.received
}

// Changed is signalled after one or more dependencies got new data; take
// them with TakeChanged.
func (w *Watcher) Changed() <-chan struct{} { return w.notify }

// TakeChanged returns the keys of dependencies whose data changed since the
// last call.
func (w *Watcher) TakeChanged() map[string]struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.changed
	w.changed = map[string]struct{}{}
	return out
}

// Errors delivers the error of a view that gave up retrying.
func (w *Watcher) Errors() <-chan error { return w.errs }

// Follow makes a view of a watcher in Once mode keep watching its
// dependency (a key that does not exist yet, say).
func (w *Watcher) Follow(key string) {
	w.mu.Lock()
	v := w.views[key]
	w.mu.Unlock()
	if v != nil {
		v.follow()
	}
}

// Size is the number of running views.
func (w *Watcher) Size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.views)
}

// Status describes one view for status dumps.
type Status struct {
	Key       string
	Received  bool
	LastIndex uint64
	LastErr   error
	Failures  int
	Since     time.Time // when the view started, or last got data
}

// Statuses lists every view, sorted by key.
func (w *Watcher) Statuses() []Status {
	w.mu.Lock()
	views := make([]*view, 0, len(w.views))
	for _, v := range w.views {
		views = append(views, v)
	}
	w.mu.Unlock()
	out := make([]Status, 0, len(views))
	for _, v := range views {
		out = append(out, v.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// StatusOf describes the view of key; ok is false when none runs.
func (w *Watcher) StatusOf(key string) (Status, bool) {
	w.mu.Lock()
	v := w.views[key]
	w.mu.Unlock()
	if v == nil {
		return Status{}, false
	}
	return v.status(), true
}

// Stop ends every view and waits for their queries and timers to end.
func (w *Watcher) Stop() {
	w.mu.Lock()
	for _, v := range w.resting {
		v.restTimer.Stop()
	}
	w.mu.Unlock()
	w.flightMu.Lock()
	w.cancel()
	w.flightMu.Unlock()
	w.flightMu.Lock()
	for w.flight > 0 {
		w.landed.Wait()
	}
	w.flightMu.Unlock()
}

// mark records that key changed and wakes the owner.
func (w *Watcher) mark(key string) {
	w.mu.Lock()
	if _, ok := w.views[key]; ok {
		w.changed[key] = struct{}{}
	}
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// fail reports a view that gave up.
func (w *Watcher) fail(err error) {
	select {
	case w.errs <- err:
	default:
	}
}

// WatchError is a view's final error.
type WatchError struct {
	Key      string
	Attempts int
	Err      error
}

func (e *WatchError) Error() string {
	return fmt.Sprintf("watching %s: %v (gave up after %d attempts)", e.Key, e.Err, e.Attempts)
}

func (e *WatchError) Unwrap() error { return e.Err }
