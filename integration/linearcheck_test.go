package integration

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
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
	op         string // "read", "write", "cas"
	key        string
	value      string // written value
	expected   string // for cas: the value read before
	via        string // the agent asked, for the reader of a failure
	consistent bool   // for a read: ?consistent
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
		if in.consistent {
			res += " (consistent)"
		}
		return in.op + " " + in.key + " " + in.value + " " + res + " via " + in.via
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
		h.explain(t, info)
		t.Fatal("the history is not linearizable")
	case porcupine.Unknown:
		// A history checked by nobody proves nothing.
		t.Fatal("the linearizability check gave up after a minute; the history was not decided")
	}
}

// explain logs, for each key whose history is not linearizable, the end of
// the longest order found and the operations that could not follow it.
func (h *history) explain(t *testing.T, info porcupine.LinearizationInfo) {
	t.Helper()
	model := kvModel.ToModel()
	describe := func(op porcupine.Operation) string {
		ret := "unknown"
		if op.Return != math.MaxInt64 {
			ret = fmt.Sprintf("%.3fs", float64(op.Return)/1e9)
		}
		return fmt.Sprintf("client %d %.3fs-%s %s", op.ClientId, float64(op.Call)/1e9, ret, model.DescribeOperation(op.Input, op.Output))
	}
	for _, part := range info.PartialLinearizationsOperations() {
		var longest []porcupine.Operation
		for _, seq := range part {
			if len(seq) > len(longest) {
				longest = seq
			}
		}
		if len(longest) == 0 {
			continue
		}
		key := longest[0].Input.(kvInput).key
		var all []porcupine.Operation
		for _, op := range h.ops {
			if op.Input.(kvInput).key == key {
				all = append(all, op)
			}
		}
		if len(longest) == len(all) {
			continue
		}
		placed := map[[2]int64]bool{}
		for _, op := range longest {
			placed[[2]int64{int64(op.ClientId), op.Call}] = true
		}
		var lines []string
		for _, op := range longest[max(0, len(longest)-8):] {
			lines = append(lines, "  in order: "+describe(op))
		}
		sort.Slice(all, func(i, j int) bool { return all[i].Call < all[j].Call })
		n := 0
		for _, op := range all {
			if !placed[[2]int64{int64(op.ClientId), op.Call}] && n < 12 {
				lines = append(lines, "  left:     "+describe(op))
				n++
			}
		}
		t.Logf("%s: %d of %d operations in a legal order; then none of these fits:\n%s", key, len(longest), len(all), strings.Join(lines, "\n"))
	}
}
