package registrator_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/registrator"
	"github.com/beacon-sd/beacon/registrator/dockertest"
)

// BenchmarkRegistrationLatency measures what a user waits for: from
// Docker's start event to the service in /v1/catalog/service/<name>, and
// from the die event to its removal, over 20 containers started and killed
// one after another; then 50 containers started at once must all be
// registered and, killed at once, all deregistered.
//
//	go test -run '^$' -bench RegistrationLatency -benchtime 1x ./registrator/
func BenchmarkRegistrationLatency(b *testing.B) {
	h := newHarness(b)
	h.start(registrator.Config{})
	ev := watchEvents(b, h.eng)
	ctx := context.Background()

	// One after another.
	w := watchService(h.client, "lat")
	ids := map[string]string{} // container ID → service ID
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("lat-%d", i)
		id := h.eng.Run(b, dockertest.Container{Name: name, Env: []string{"SERVICE_NAME=lat", "SERVICE_ID=" + name},
			Publish: map[string]int{"80/tcp": freeport.Port(b)}})
		ids[id] = name
		w.waitCount(b, 1)
		if err := h.eng.Client.ContainerKill(ctx, id, "KILL"); err != nil {
			b.Fatal(err)
		}
		w.waitCount(b, 0)
	}
	w.stop()
	report(b, "start→catalog", w.latencies(b, ev, ids, "start"))
	report(b, "die→gone", w.latencies(b, ev, ids, "die"))

	// 50 at once.
	const n = 50
	w = watchService(h.client, "burst")
	ids = map[string]string{}
	var list []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("burst-%d", i)
		id := h.eng.Create(b, dockertest.Container{Name: name, Env: []string{"SERVICE_NAME=burst", "SERVICE_ID=" + name},
			Publish: map[string]int{"80/tcp": freeport.Port(b)}})
		ids[id] = name
		list = append(list, id)
	}
	t0 := time.Now()
	parallel(list, func(id string) { h.eng.Start(b, id) })
	w.waitCount(b, n)
	b.Logf("%d containers started at once: all in the catalog %v after the start calls began", n, time.Since(t0).Round(time.Millisecond))
	h.noDuplicates()
	t0 = time.Now()
	parallel(list, func(id string) { h.eng.Client.ContainerKill(ctx, id, "KILL") })
	w.waitCount(b, 0)
	b.Logf("%d containers killed at once: all gone %v after the kill calls began", n, time.Since(t0).Round(time.Millisecond))
	w.stop()
	report(b, "burst50 start→catalog", w.latencies(b, ev, ids, "start"))
	report(b, "burst50 die→gone", w.latencies(b, ev, ids, "die"))
}

func parallel(ids []string, f func(string)) {
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() { defer wg.Done(); f(id) }()
	}
	wg.Wait()
}

func report(b *testing.B, what string, ds []time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	p := func(q float64) time.Duration { return ds[int(q*float64(len(ds)-1)+0.5)] }
	b.Logf("%s over %d containers: p50 %v, p99 %v, min %v, max %v", what, len(ds), p(0.5), p(0.99), ds[0], ds[len(ds)-1])
	unit := strings.ReplaceAll(what, " ", "-")
	b.ReportMetric(float64(p(0.5).Microseconds())/1000, unit+"-p50-ms")
	b.ReportMetric(float64(p(0.99).Microseconds())/1000, unit+"-p99-ms")
}

// eventLog records when Docker reported each container's events.
type eventLog struct {
	mu   sync.Mutex
	seen map[string]time.Time // "<id> <action>" → time
	cond *sync.Cond
}

func watchEvents(b *testing.B, eng *dockertest.Engine) *eventLog {
	l := &eventLog{seen: map[string]time.Time{}}
	l.cond = sync.NewCond(&l.mu)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	msgs, _ := eng.Client.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", "container"))})
	go func() {
		for m := range msgs {
			l.mu.Lock()
			l.seen[m.Actor.ID+" "+string(m.Action)] = time.Unix(0, m.TimeNano)
			l.cond.Broadcast()
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *eventLog) at(b *testing.B, id, action string) time.Time {
	deadline := time.Now().Add(5 * time.Second)
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if t, ok := l.seen[id+" "+action]; ok {
			return t
		}
		if time.Now().After(deadline) {
			b.Fatalf("no %s event for %s", action, id)
		}
		l.mu.Unlock()
		time.Sleep(time.Millisecond)
		l.mu.Lock()
	}
}

// serviceWatch follows one service's instances with blocking queries and
// notes when each instance ID was first seen and when it went away.
type serviceWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	appeared map[string]time.Time
	gone     map[string]time.Time
	count    int
}

func watchService(c *api.Client, name string) *serviceWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &serviceWatch{cancel: cancel, done: make(chan struct{}), appeared: map[string]time.Time{}, gone: map[string]time.Time{}}
	go func() {
		defer close(w.done)
		var index uint64
		for ctx.Err() == nil {
			q := (&api.QueryOptions{WaitIndex: index, WaitTime: 10 * time.Second}).WithContext(ctx)
			svcs, meta, err := c.Catalog().Service(name, "", q)
			now := time.Now()
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			present := map[string]bool{}
			w.mu.Lock()
			for _, s := range svcs {
				present[s.ServiceID] = true
				if _, ok := w.appeared[s.ServiceID]; !ok {
					w.appeared[s.ServiceID] = now
				}
			}
			for id := range w.appeared {
				if _, ok := w.gone[id]; !ok && !present[id] {
					w.gone[id] = now
				}
			}
			w.count = len(svcs)
			w.mu.Unlock()
			index = meta.LastIndex
		}
	}()
	return w
}

// waitCount waits until the service has n instances.
func (w *serviceWatch) waitCount(b *testing.B, n int) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		c := w.count
		w.mu.Unlock()
		if c == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("service never had %d instances", n)
}

// latencies are, per container, the time from its event to the moment
// its instance appeared (or went away).
func (w *serviceWatch) latencies(b *testing.B, ev *eventLog, ids map[string]string, action string) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := w.appeared
	if action == "die" {
		seen = w.gone
	}
	var out []time.Duration
	for cid, sid := range ids {
		at, ok := seen[sid]
		if !ok {
			b.Fatalf("instance %s: no %s seen", sid, action)
		}
		out = append(out, at.Sub(ev.at(b, cid, action)))
	}
	return out
}

func (w *serviceWatch) stop() { w.cancel(); <-w.done }
