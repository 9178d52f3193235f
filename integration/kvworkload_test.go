package integration

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// timedClient is an API client of a with its own request timeout.
func timedClient(a *agent, timeout time.Duration) *api.Client {
	cfg := api.DefaultNonPooledConfig()
	cfg.Address = a.addr(a.http)
	cfg.HttpClient = &http.Client{Timeout: timeout}
	cl, _ := api.NewClient(cfg)
	return cl
}

// kvWorkload runs clients that put, compare-and-set and read (consistent
// and default) a few keys through randomly chosen servers, and records
// what they saw. A client that got no answer from a server (2 s) asks
// another one next, as a client with a list of servers does.
type kvWorkload struct {
	h       *history
	stop    chan struct{}
	wg      sync.WaitGroup
	writes  atomic.Int64 // acknowledged
	unknown atomic.Int64 // of unknown outcome

	mu   sync.Mutex
	acks []time.Time // when writes were acknowledged
}

func newKVWorkload() *kvWorkload {
	return &kvWorkload{h: &history{start: time.Now()}, stop: make(chan struct{})}
}

// run starts n clients over keys through servers.
func (w *kvWorkload) run(n int, servers []*agent, keys []string) {
	for id := 0; id < n; id++ {
		w.wg.Add(1)
		go w.client(id, servers, keys)
	}
}

func (w *kvWorkload) client(id int, servers []*agent, keys []string) {
	defer w.wg.Done()
	rng := rand.New(rand.NewPCG(uint64(id), 7))
	var avoid *agent // the server that last failed to answer
	for n := 0; !w.stopped(); n++ {
		a := servers[rng.IntN(len(servers))]
		if a.exited() || a == avoid {
			continue
		}
		avoid = nil
		cl := timedClient(a, 2*time.Second)
		key := keys[rng.IntN(len(keys))]
		switch r := rng.IntN(10); {
		case r < 3:
			val := fmt.Sprintf("w%d-%d", id, n)
			call := time.Now()
			_, err := cl.KV().Put(&api.KVPair{Key: key, Value: []byte(val)}, nil)
			w.write(id, kvInput{op: "write", key: key, value: val, via: a.name}, call, true, err)
			if err != nil {
				avoid = a
			}
		case r < 5:
			// read, then CAS on what was read
			p, _, err := cl.KV().Get(key, &api.QueryOptions{RequireConsistent: true})
			if err != nil {
				avoid = a
				continue
			}
			expected, idx := "", uint64(0)
			if p != nil {
				expected, idx = string(p.Value), p.ModifyIndex
			}
			val := fmt.Sprintf("c%d-%d", id, n)
			call := time.Now()
			ok, _, err := cl.KV().CAS(&api.KVPair{Key: key, Value: []byte(val), ModifyIndex: idx}, nil)
			w.write(id, kvInput{op: "cas", key: key, value: val, expected: expected, via: a.name}, call, ok, err)
			if err != nil {
				avoid = a
			}
		default:
			if !w.read(id, a, cl, key, r < 8) {
				avoid = a
			}
		}
	}
}

// write records a put or CAS that returned ok and err.
func (w *kvWorkload) write(id int, in kvInput, call time.Time, ok bool, err error) {
	ret := time.Now()
	out := writeOutput(ok, err)
	w.h.add(id, in, call, out, ret)
	switch {
	case err == nil:
		w.writes.Add(1)
		w.mu.Lock()
		w.acks = append(w.acks, ret)
		w.mu.Unlock()
	case out.unknown:
		w.unknown.Add(1)
	}
}

// read reads key and records what it saw; a failed read says nothing.
func (w *kvWorkload) read(id int, a *agent, cl *api.Client, key string, consistent bool) bool {
	call := time.Now()
	p, _, err := cl.KV().Get(key, &api.QueryOptions{RequireConsistent: consistent})
	if err != nil {
		return false
	}
	v := ""
	if p != nil {
		v = string(p.Value)
	}
	w.h.add(id, kvInput{op: "read", key: key, via: a.name, consistent: consistent}, call, kvOutput{value: v}, time.Now())
	return true
}

func (w *kvWorkload) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// event logs what the nemesis did, at the history's clock.
func (w *kvWorkload) event(t *testing.T, format string, args ...interface{}) {
	t.Helper()
	t.Logf("t=%.3fs %s", time.Since(w.h.start).Seconds(), fmt.Sprintf(format, args...))
}

// halt stops the clients and waits for their last operations.
func (w *kvWorkload) halt() {
	close(w.stop)
	w.wg.Wait()
}

// firstAckAfter is when the first write after t was acknowledged.
func (w *kvWorkload) firstAckAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	acks := append([]time.Time(nil), w.acks...)
	sort.Slice(acks, func(i, j int) bool { return acks[i].Before(acks[j]) })
	i := sort.Search(len(acks), func(i int) bool { return acks[i].After(t) })
	if i == len(acks) {
		return time.Time{}, false
	}
	return acks[i], true
}

// newLeaderWatch polls the servers other than old for a leader that is
// not old, and reports when one first named it.
func newLeaderWatch(servers []*agent, old *agent, stop <-chan struct{}) <-chan time.Time {
	found := make(chan time.Time, 1)
	go func() {
		for {
			for _, a := range servers {
				if a == old || a.exited() {
					continue
				}
				l, err := timedClient(a, 500*time.Millisecond).Status().Leader()
				if err == nil && l != "" && l != old.rpcAddr() {
					select {
					case <-stop: // too late: not while old was out
					default:
						found <- time.Now()
					}
					return
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return found
}
