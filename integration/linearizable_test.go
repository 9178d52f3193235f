package integration

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/hashicorp/consul/api"
)

// kvInput is one operation on one key. Values are unique per write, so a
// compare-and-set on the ModifyIndex a read returned is a compare-and-set
// on the value that read saw.
type kvInput struct {
	op       string // "read", "write", "cas"
	key      string
	value    string // written value
	expected string // for cas: the value read before
}

// kvOutput is what the operation returned; unknown means the client could
// not tell whether a write took effect.
type kvOutput struct {
	value   string
	ok      bool
	unknown bool
}

// kvModel is a register per key that accepts writes and CAS of unknown
// outcome either way.
var kvModel = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(kvInput).key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		sort.Strings(keys)
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() []interface{} { return []interface{}{""} },
	Step: func(state, input, output interface{}) []interface{} {
		st, in, out := state.(string), input.(kvInput), output.(kvOutput)
		switch in.op {
		case "read":
			if out.value == st {
				return []interface{}{st}
			}
			return nil
		case "write":
			if out.unknown {
				return []interface{}{st, in.value}
			}
			return []interface{}{in.value}
		case "cas":
			if out.unknown {
				if st == in.expected {
					return []interface{}{st, in.value}
				}
				return []interface{}{st}
			}
			if out.ok && st == in.expected {
				return []interface{}{in.value}
			}
			if !out.ok && st != in.expected {
				return []interface{}{st}
			}
			return nil
		}
		return nil
	},
}

// history records operations from many goroutines.
type history struct {
	mu    sync.Mutex
	ops   []porcupine.Operation
	start time.Time
}

func (h *history) add(client int, in kvInput, call time.Time, out kvOutput, ret time.Time) {
	r := ret.Sub(h.start).Nanoseconds()
	if out.unknown {
		r = math.MaxInt64 // it may take effect at any time after its call
	}
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call.Sub(h.start).Nanoseconds(), Output: out, Return: r})
	h.mu.Unlock()
}

// Concurrent puts, CAS and reads (consistent and default) against random
// servers while servers are killed, restarted and frozen: the history must
// be linearizable, and a frozen leader must not stall writes for longer
// than an election. A client that got no answer from a server (2s) asks
// another one next, as a client with a list of servers does: the gap then
// holds at most one of the clients' own timeouts, not a run of them.
func TestLinearizableUnderFaults(t *testing.T) {
	c := newCluster(t, 3, 0, nil)
	c.ready(30 * time.Second)
	servers := c.servers()
	keys := []string{"lin/a", "lin/b", "lin/c"}
	h := &history{start: time.Now()}
	stop := make(chan struct{})
	var lastWrite atomic.Int64
	lastWrite.Store(time.Now().UnixNano())
	var maxGap atomic.Int64
	var writes, unknown atomic.Int64

	clientFor := func(a *agent) *api.Client {
		cfg := api.DefaultNonPooledConfig()
		cfg.Address = fmt.Sprintf("127.0.0.1:%d", a.http)
		cfg.HttpClient = &http.Client{Timeout: 2 * time.Second}
		cl, _ := api.NewClient(cfg)
		return cl
	}
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var avoid *agent // the server that last failed to answer
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				a := servers[rng.IntN(len(servers))]
				if a.exited() || a == avoid {
					continue
				}
				avoid = nil
				cl := clientFor(a)
				key := keys[rng.IntN(len(keys))]
				switch r := rng.IntN(10); {
				case r < 3:
					val := fmt.Sprintf("w%d-%d", w, n)
					call := time.Now()
					_, err := cl.KV().Put(&api.KVPair{Key: key, Value: []byte(val)}, nil)
					ret := time.Now()
					h.add(w, kvInput{op: "write", key: key, value: val}, call, kvOutput{unknown: err != nil}, ret)
					if err == nil {
						writes.Add(1)
						gap := ret.UnixNano() - lastWrite.Swap(ret.UnixNano())
						for cur := maxGap.Load(); gap > cur && !maxGap.CompareAndSwap(cur, gap); cur = maxGap.Load() {
						}
					} else {
						unknown.Add(1)
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
					val := fmt.Sprintf("c%d-%d", w, n)
					call := time.Now()
					ok, _, err := cl.KV().CAS(&api.KVPair{Key: key, Value: []byte(val), ModifyIndex: idx}, nil)
					if err != nil {
						avoid = a
					}
					h.add(w, kvInput{op: "cas", key: key, value: val, expected: expected}, call, kvOutput{ok: ok, unknown: err != nil}, time.Now())
				default:
					consistent := r < 8
					call := time.Now()
					p, _, err := cl.KV().Get(key, &api.QueryOptions{RequireConsistent: consistent})
					if err != nil {
						avoid = a
						continue // a failed read says nothing
					}
					v := ""
					if p != nil {
						v = string(p.Value)
					}
					h.add(w, kvInput{op: "read", key: key}, call, kvOutput{value: v}, time.Now())
				}
			}
		}(w)
	}

	// The nemesis: kill and restart a random server, freeze the leader.
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	rng := rand.New(rand.NewPCG(99, 1))
	var freezeGap time.Duration
	for step := 0; ctx.Err() == nil; step++ {
		time.Sleep(2 * time.Second)
		switch step % 3 {
		case 0:
			victim := servers[rng.IntN(len(servers))]
			victim.kill()
			time.Sleep(time.Second)
			c.start(victim)
		case 1:
			l := c.leader(15 * time.Second)
			before := maxGap.Load()
			maxGap.Store(0)
			l.cmd.Process.Signal(syscall.SIGSTOP)
			time.Sleep(5 * time.Second)
			l.cmd.Process.Signal(syscall.SIGCONT)
			time.Sleep(500 * time.Millisecond)
			if g := time.Duration(maxGap.Load()); g > freezeGap {
				freezeGap = g
			}
			if before > maxGap.Load() {
				maxGap.Store(before)
			}
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d operations (%d acknowledged writes, %d of unknown outcome); longest write gap while the leader was frozen: %v",
		len(h.ops), writes.Load(), unknown.Load(), freezeGap)

	res, info := porcupine.CheckOperationsVerbose(kvModel.ToModel(), h.ops, 60*time.Second)
	switch res {
	case porcupine.Illegal:
		_ = info
		t.Fatal("the history is not linearizable")
	case porcupine.Unknown:
		t.Log("the linearizability check timed out; the history could not be decided")
	}
	if writes.Load() < 50 {
		t.Fatalf("only %d writes were acknowledged; the cluster was not available", writes.Load())
	}
	if freezeGap > 4500*time.Millisecond {
		t.Fatalf("a frozen leader stalled writes for %v (a new leader should take over within an election)", freezeGap)
	}
}
