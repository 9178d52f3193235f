package server

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// Writes that arrive while an entry is under way go out together, split at
// the size limits, and each writer gets its own write's outcome.
func TestGroupCommitQueuesWhileBusy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		queued int
		value  int   // bytes per value
		want   []int // sizes of the entries after the first
	}{
		{"a few", 5, 10, []int{5}},
		{"by count", groupMaxWrites + 3, 10, []int{groupMaxWrites, 3}},
		{"by bytes", 5, groupMaxBytes/2 - 100, []int{2, 2, 1}},
		{"one oversize write alone", 2, groupMaxBytes * 2, []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var sizes []int
			release := make(chan struct{})
			g := &groupCommit{send: func(group []*queuedWrite) int {
				mu.Lock()
				first := len(sizes) == 0
				sizes = append(sizes, len(group))
				mu.Unlock()
				if first {
					<-release
				}
				var res []applyResult
				for _, r := range flatten(group) {
					res = append(res, applyResult{ok: strings.HasSuffix(r.DirEnt.Key, "ok")})
				}
				giveResults(group, res)
				return 1
			}}
			put := func(key string, size int) *structs.KVSRequest {
				return &structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: make([]byte, size)}}
			}
			firstDone := make(chan bool)
			go func() {
				firstDone <- g.write([]*structs.KVSRequest{put("first-ok", 1)})[0].ok
			}()
			waitfor.Until(t, 5*time.Second, "the first entry under way", func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
			var wg sync.WaitGroup
			errs := make(chan error, tc.queued)
			for i := 0; i < tc.queued; i++ {
				key := fmt.Sprintf("w%d", i)
				if i%2 == 0 {
					key += "-ok"
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if ok := g.write([]*structs.KVSRequest{put(key, tc.value)})[0].ok; ok != strings.HasSuffix(key, "ok") {
						errs <- fmt.Errorf("%s got the outcome %v", key, ok)
					}
				}()
			}
			waitfor.Until(t, 5*time.Second, "the writes to queue", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queue) == tc.queued })
			close(release)
			select {
			case ok := <-firstDone:
				if !ok {
					t.Error("the first write lost its outcome")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the first write never returned")
			}
			allDone := make(chan struct{})
			go func() { wg.Wait(); close(allDone) }()
			select {
			case <-allDone:
			case <-time.After(5 * time.Second):
				t.Fatal("queued writes never returned")
			}
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if fmt.Sprint(sizes[1:]) != fmt.Sprint(tc.want) || sizes[0] != 1 {
				t.Fatalf("entries of %v writes, want [1] then %v", sizes, tc.want)
			}
			if g.busy || len(g.queue) != 0 {
				t.Fatalf("left busy=%v with %d queued", g.busy, len(g.queue))
			}
		})
	}
}

// Each caller of a group gets the outcomes of its own writes, in order,
// however many it sent.
func TestGiveResultsSplitsOutcomesByCaller(t *testing.T) {
	kv := func(keys ...string) *queuedWrite {
		w := &queuedWrite{}
		for _, k := range keys {
			w.reqs = append(w.reqs, &structs.KVSRequest{DirEnt: structs.DirEntry{Key: k}})
		}
		return w
	}
	group := []*queuedWrite{kv("a"), kv("b", "c", "d"), kv("e", "f")}
	all := flatten(group)
	res := make([]applyResult, len(all))
	for i, r := range all {
		res[i] = applyResult{ok: i%2 == 0, err: fmt.Errorf("%s", r.DirEnt.Key)}
	}
	giveResults(group, res)
	for _, w := range group {
		if len(w.res) != len(w.reqs) {
			t.Fatalf("%d outcomes for %d writes", len(w.res), len(w.reqs))
		}
		for i, r := range w.reqs {
			if w.res[i].err.Error() != r.DirEnt.Key {
				t.Errorf("write %s got the outcome of %s", r.DirEnt.Key, w.res[i].err)
			}
		}
	}
}

// A group whose sending panics fails the writes of its other callers
// (the sending caller gets the panic), and the writes queued behind it
// still go.
func TestGroupCommitSurvivesAPanickingSend(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	release := make(chan struct{})
	g := &groupCommit{send: func(group []*queuedWrite) int {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch n {
		case 1:
			<-release // the next two writes queue meanwhile
		case 2:
			panic("boom")
		}
		giveResults(group, repeatResult(len(flatten(group)), applyResult{ok: true}))
		return 1
	}}
	put := func() []*structs.KVSRequest {
		return []*structs.KVSRequest{{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k"}}}
	}
	type outcome struct {
		r        applyResult
		panicked bool
	}
	write := func(out chan<- outcome) {
		defer func() {
			if recover() != nil {
				out <- outcome{panicked: true}
			}
		}()
		out <- outcome{r: g.write(put())[0]}
	}
	first := make(chan outcome, 1)
	go write(first)
	waitfor.Until(t, 5*time.Second, "the first entry under way", func() bool { mu.Lock(); defer mu.Unlock(); return calls == 1 })
	queued := make(chan outcome, 2)
	go write(queued)
	go write(queued)
	waitfor.Until(t, 5*time.Second, "two writes to queue", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queue) == 2 })
	close(release)
	if o := <-first; !o.r.ok {
		t.Errorf("the first write: %+v", o)
	}
	var panicked, failed int
	for i := 0; i < 2; i++ {
		select {
		case o := <-queued:
			if o.panicked {
				panicked++
			} else if errors.Is(o.r.err, errSendPanicked) {
				failed++
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a queued write hung after the panic")
		}
	}
	if panicked != 1 || failed != 1 {
		t.Errorf("of the panicking group, %d callers saw the panic and %d got errSendPanicked; want 1 and 1", panicked, failed)
	}
	next := make(chan outcome, 1)
	go write(next)
	select {
	case o := <-next:
		if !o.r.ok || o.r.err != nil {
			t.Errorf("the next write: %+v", o)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the next write hung")
	}
}
