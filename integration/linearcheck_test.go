package integration

import (
	"math"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/beacon-sd/beacon/core/outcome"
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

// kvOutput is what the operation returned: a value read, a CAS's answer,
// or for a write that failed whether the error said it was not applied
// (failed) or left the outcome open (unknown).
type kvOutput struct {
	value   string
	ok      bool
	failed  bool
	unknown bool
}

// writeOutput is the output of a write that returned err (and ok for a
// CAS), read as a client of the API reads errors (core/outcome).
func writeOutput(ok bool, err error) kvOutput {
	switch outcome.Of(err) {
	case outcome.NotApplied:
		return kvOutput{failed: true}
	case outcome.Unknown:
		return kvOutput{unknown: true}
	}
	return kvOutput{ok: ok}
}

// kvModel is a register per key. A write that failed was not applied; one
// of unknown outcome may or may not have been.
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
		switch {
		case in.op == "read":
			if out.value == st {
				return []interface{}{st}
			}
			return nil
		case out.failed:
			return []interface{}{st}
		case in.op == "write":
			if out.unknown {
				return []interface{}{st, in.value}
			}
			return []interface{}{in.value}
		case in.op == "cas":
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
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(kvInput), output.(kvOutput)
		res := "ok"
		switch {
		case in.op == "read":
			res = "-> " + out.value
		case out.failed:
			res = "not applied"
		case out.unknown:
			res = "outcome unknown"
		case in.op == "cas" && !out.ok:
			res = "refused"
		}
		return in.op + " " + in.key + " " + in.value + " " + res
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

// count is how many operations match f.
func (h *history) count(f func(kvInput, kvOutput) bool) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, op := range h.ops {
		if f(op.Input.(kvInput), op.Output.(kvOutput)) {
			n++
		}
	}
	return n
}

// check fails the test when the history is not linearizable; the check
// gives up undecided after a minute.
func (h *history) check(t *testing.T) {
	t.Helper()
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(kvModel.ToModel(), h.ops, 60*time.Second)
	t.Logf("%d operations checked in %v", len(h.ops), time.Since(start).Round(time.Millisecond))
	switch res {
	case porcupine.Illegal:
		if f, err := os.CreateTemp("", "linearizability-*.html"); err == nil {
			if porcupine.Visualize(kvModel.ToModel(), info, f) == nil {
				t.Logf("the history, drawn: %s", f.Name())
			}
			f.Close()
		}
		t.Fatal("the history is not linearizable")
	case porcupine.Unknown:
		t.Log("the linearizability check timed out; the history could not be decided")
	}
}
