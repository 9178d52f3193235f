package watcher

import (
	"context"
	"sort"
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
func (w *Watcher) ListsBehind(changed map[string]struct{}) []string {
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
	var out []string
	for k, v := range w.views {
		sl, ok := v.dep.(dep.ServiceList)
		if !ok {
			continue
		}
		v.mu.Lock()
		index, received := v.index, v.received
		v.mu.Unlock()
		for _, e := range edges {
			if received && sl.Datacenter() == e.dc && index < e.at {
				out = append(out, k)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Refresh reads key's dependency once, without blocking, and keeps the
// answer as the view's value unless the view has meanwhile answered from a
// later index; a changed value is reported as any change is. The view's
// own blocking query goes on. done is called, on another goroutine, when
// the read is over (at the latest after timeout).
func (w *Watcher) Refresh(key string, timeout time.Duration, done func(error)) {
	w.mu.Lock()
	v := w.views[key]
	w.mu.Unlock()
	if v == nil || !w.begin(v.ctx) {
		go done(nil)
		return
	}
	ctx, cancel := context.WithTimeout(v.ctx, timeout)
	go func() {
		defer w.end()
		defer cancel()
		data, meta, err := v.dep.Fetch(ctx, w.client, consul.QueryOptions{AllowStale: w.opts.MaxStale > 0})
		if err == nil {
			v.refreshed(data, meta.LastIndex)
		}
		done(err)
	}()
}
