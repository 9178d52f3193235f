package dns

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// fakeCatalog is a backend of one value per key with an index, whose
// blocking reads wake when the value changes, as the server's do.
type fakeCatalog struct {
	mu      sync.Mutex
	vals    map[string]int
	idx     uint64
	changed chan struct{}
	fail    atomic.Bool
	reads   atomic.Int64
}

func newFakeCatalog() *fakeCatalog {
	return &fakeCatalog{vals: map[string]int{}, changed: make(chan struct{})}
}

func (c *fakeCatalog) set(key string, v int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idx++
	c.vals[key] = v
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *fakeCatalog) fetch(ctx context.Context, key string, minIndex uint64, wait time.Duration) (*int, uint64, error) {
	c.reads.Add(1)
	timeout := time.After(wait)
	for {
		if c.fail.Load() {
			return nil, 0, errors.New("backend down")
		}
		c.mu.Lock()
		v, idx, ch := c.vals[key], c.idx, c.changed
		c.mu.Unlock()
		if minIndex == 0 || idx != minIndex {
			return &v, idx, nil
		}
		select {
		case <-ch:
		case <-timeout:
			return &v, idx, nil
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

func keepAll(*int) bool { return true }

func TestViewFollowsChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := newFakeCatalog()
	vs := newViews(ctx, c.fetch)
	c.set("a", 1)
	if v, _ := vs.get("a", keepAll); *v != 1 || vs.len() != 1 {
		t.Fatalf("first read %d, %d views", *v, vs.len())
	}
	before := c.reads.Load()
	for i := 0; i < 100; i++ {
		vs.get("a", keepAll)
	}
	if n := c.reads.Load() - before; n > 1 {
		t.Errorf("%d backend reads for 100 questions on a view", n)
	}
	c.set("a", 2)
	waitfor.Until(t, 2*time.Second, "the new value", func() bool { v, _ := vs.get("a", keepAll); return *v == 2 })
	c.set("b", 3) // another key's change leaves a's value alone
	if v, _ := vs.get("a", keepAll); *v != 2 {
		t.Errorf("a = %d", *v)
	}
	cancel()
	vs.wait()
	if vs.len() != 0 {
		t.Errorf("%d views after shutdown", vs.len())
	}
}

func TestViewLimits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newFakeCatalog()
	vs := newViews(ctx, c.fetch)
	vs.max = 2
	for _, k := range []string{"a", "b", "c"} {
		c.set(k, 1)
		vs.get(k, keepAll)
	}
	if vs.len() != 2 {
		t.Errorf("%d views, want the cap of 2", vs.len())
	}
	c.set("c", 5)
	if v, _ := vs.get("c", keepAll); *v != 5 {
		t.Errorf("beyond the cap, read %d, want 5 from the backend", *v)
	}
	vs.get("nothing", func(*int) bool { return false })
	if vs.len() != 2 {
		t.Errorf("a value not worth keeping made a view")
	}
	cancel()
	vs.wait()
}

func TestViewIdleAndErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newFakeCatalog()
	vs := newViews(ctx, c.fetch)
	vs.idle = 50 * time.Millisecond
	c.set("a", 1)
	vs.get("a", keepAll)
	waitfor.Until(t, 2*time.Second, "the unused view to stop", func() bool { return vs.len() == 0 })

	vs.idle = time.Minute
	vs.get("a", keepAll)
	if vs.len() != 1 {
		t.Fatal("no view")
	}
	c.fail.Store(true)
	c.set("a", 2) // wakes the watch, whose read now fails
	waitfor.Until(t, 2*time.Second, "the failed view to stop", func() bool { return vs.len() == 0 })
	if _, err := vs.get("a", keepAll); err == nil {
		t.Errorf("backend error not returned")
	}
	c.fail.Store(false)
	if v, err := vs.get("a", keepAll); err != nil || *v != 2 {
		t.Errorf("after recovery: %v, %v", v, err)
	}
	cancel()
	vs.wait()
}
