package watcher

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/watcher/consul"
	"github.com/beacon-sd/beacon/watcher/dep"
)

// ListsBehind returns the keys of the service-list views to read again
// before the changed keys are rendered: one of them is a service's
// instances that went to or from none at an index the list's view has not
// answered from yet, so the list may still name a service that just lost
// its last instance, or miss one that got its first. Each such change is
// reported once.
func (w *Watcher) ListsBehind(changed map[string]struct{}) []Behind {
	type edge struct {
		dc string
		at uint64
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var edges []edge
	for k := range changed {
		v := w.views[k]
		if v == nil {
			continue
		}
		il, ok := v.dep.(dep.InstanceList)
		if !ok {
			continue
		}
		v.mu.Lock()
		at := v.edge
		v.edge = 0
		v.mu.Unlock()
		if at > 0 {
			edges = append(edges, edge{dc: il.Datacenter(), at: at})
		}
	}
	if len(edges) == 0 {
		return nil
	}
	var out []Behind
	for k, v := range w.views {
		sl, ok := v.dep.(dep.ServiceList)
		if !ok {
			continue
		}
		v.mu.Lock()
		index, received := v.index, v.received
		v.mu.Unlock()
		b := Behind{Key: k}
		for _, e := range edges {
			if received && sl.Datacenter() == e.dc && index < e.at {
				b.Index = max(b.Index, e.at)
			}
		}
		if b.Index > 0 {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Behind is a view that has not answered from an index yet.
type Behind struct {
	Key   string
	Index uint64
}

// Refresh brings a view that is behind up to b.Index: it reads the view's
// dependency once, without blocking, and keeps the answer as the view's
// value unless the view has meanwhile answered from a later index; a
// changed value is reported as any change is. The view's own blocking
// query goes on. done is called once, on another goroutine, when the view
// has data from b.Index or later, by its own query or this read, or the
// read failed or ran out of time.
func (w *Watcher) Refresh(b Behind, timeout time.Duration, done func()) {
	w.mu.Lock()
	v := w.views[b.Key]
	w.mu.Unlock()
	var once sync.Once
	finish := func() { once.Do(func() { go done() }) }
	if v == nil || v.status().LastIndex >= b.Index || !w.begin(v.ctx) {
		finish()
		return
	}
	v.whenAt(b.Index, finish)
	ctx, cancel := context.WithTimeout(v.ctx, timeout)
	go func() {
		defer w.end()
		defer cancel()
		data, meta, err := v.dep.Fetch(ctx, w.client, consul.QueryOptions{AllowStale: w.opts.MaxStale > 0})
		if err == nil {
			v.refreshed(data, meta.LastIndex)
		}
		finish()
	}()
}
