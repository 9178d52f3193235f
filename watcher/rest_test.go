package watcher

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/waitfor"
	"github.com/beacon-sd/beacon/watcher/dep"
)

// restingData is what the resting view of key holds, and whether it rests.
func restingData(w *Watcher, key string) (any, bool) {
	w.mu.Lock()
	v := w.resting[key]
	w.mu.Unlock()
	if v == nil {
		return nil, false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.data, true
}

func instances(v any) int {
	l, _ := v.([]*dep.HealthService)
	return len(l)
}

// A service that lost its last instance is dropped by the template; when
// it gets a new one, the view that rested meanwhile has the instance
// already, and the template reads it as soon as it asks again.
func TestRestingViewComesBackWithItsAnswer(t *testing.T) {
	a := testagent.Start(t)
	w := start(t, client(t, a.HTTPAddr), Options{Retry: DefaultRetry})
	q, _ := dep.ParseService("web")
	w.Add(q)
	next(t, w, 5*time.Second)
	w.Retain(map[string]bool{})
	if _, ok := w.Recall(q); ok || w.Size() != 0 {
		t.Fatalf("a dropped view is still recalled (%d views)", w.Size())
	}
	if _, err := a.Client.Catalog().Register(&api.CatalogRegistration{Node: "n1", Address: "10.1.1.1",
		Service: &api.AgentService{ID: "web-1", Service: "web", Port: 80}}, nil); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 5*time.Second, "the resting view to see the instance", func() bool {
		v, _ := restingData(w, q.String())
		return instances(v) == 1
	})
	w.Add(q)
	v, ok := w.Recall(q)
	if !ok || instances(v) != 1 {
		t.Fatalf("the view back from resting recalls %v (%v), want its 1 instance at once", v, ok)
	}
	if changed := next(t, w, time.Second); len(changed) != 1 {
		t.Errorf("changed %v, want the view back", changed)
	}
}

// A view back from resting whose last answer is older than what other
// views show is hidden until a read made after it came back answers: a
// template never mixes its old data with their newer data.
func TestRevivedViewHiddenUntilCurrent(t *testing.T) {
	a := testagent.Start(t)
	w := start(t, client(t, a.HTTPAddr), Options{Retry: DefaultRetry})
	svc, _ := dep.ParseService("web")
	key, _ := dep.ParseKey("x")
	w.Add(svc)
	w.Add(key)
	waitfor.Until(t, 5*time.Second, "both views to answer", func() bool {
		_, ok1 := w.Recall(svc)
		_, ok2 := w.Recall(key)
		return ok1 && ok2
	})
	w.TakeChanged()
	w.Retain(map[string]bool{key.String(): true})
	if _, err := a.Client.KV().Put(&api.KVPair{Key: "x", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 5*time.Second, "the key's view to answer", func() bool {
		v, _ := w.Recall(key)
		kp, _ := v.(*dep.KeyPair)
		return kp != nil && kp.Value == "1"
	})
	w.TakeChanged()
	w.Add(svc)
	if v, ok := w.Recall(svc); ok {
		t.Fatalf("the view back from resting is older than the key's, yet recalled: %v", v)
	}
	waitfor.Until(t, 5*time.Second, "the view back from resting to be read again", func() bool {
		_, ok := w.Recall(svc)
		return ok
	})
	if _, changed := w.TakeChanged()[svc.String()]; !changed {
		t.Error("the view shown again was not reported as changed")
	}
	if st, _ := w.StatusOf(svc.String()); st.LastIndex == 0 {
		t.Errorf("status %+v", st)
	}
}

// Resting views stop after restFor, at most maxResting rest, and a -once
// watcher does not keep them.
func TestRestingViewsStop(t *testing.T) {
	a := testagent.Start(t)
	defer func(d time.Duration, n int) { restFor, maxResting = d, n }(restFor, maxResting)
	restFor, maxResting = 200*time.Millisecond, 1

	w := start(t, client(t, a.HTTPAddr), Options{Retry: DefaultRetry})
	k1, _ := dep.ParseKey("a")
	k2, _ := dep.ParseKey("b")
	w.Add(k1)
	w.Add(k2)
	next(t, w, 5*time.Second)
	w.Retain(map[string]bool{})
	w.mu.Lock()
	n := len(w.resting)
	w.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d views rest, want maxResting=1", n)
	}
	waitfor.Until(t, 5*time.Second, "the resting view to stop", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.resting) == 0
	})
	waitfor.Until(t, 5*time.Second, "every query to end once every view stopped", func() bool {
		w.flightMu.Lock()
		defer w.flightMu.Unlock()
		return w.flight == 0
	})

	once := start(t, client(t, a.HTTPAddr), Options{Retry: DefaultRetry, Once: true})
	once.Add(k1)
	next(t, once, 5*time.Second)
	once.Retain(map[string]bool{})
	if _, rests := restingData(once, k1.String()); rests {
		t.Error("a -once watcher keeps a dropped view")
	}
}
