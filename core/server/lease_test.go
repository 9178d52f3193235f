package server

import (
	"sync"
	"testing"
	"time"
)

// A default read that joins a quorum round begun before it arrived is not
// answered on that round alone when the round's lease has run out by its
// end: the leader was frozen with the round in flight, and the followers'
// answers, sent before the freeze, said nothing of the moment the read
// arrived. The read runs a round of its own.
func TestLeaseRoundBegunBeforeAFreezeDoesNotServeLaterReads(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	l := &lease{now: clock}

	first := make(chan struct{})
	rounds := make(chan time.Time, 4)
	var calls int
	verify := func() error {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		rounds <- clock()
		if n == 1 {
			<-first // the round in flight as the leader freezes
		}
		return nil
	}
	firstDone := make(chan error, 1)
	go func() { firstDone <- l.confirm(false, verify) }()
	began := <-rounds // round 1 is under way

	advance(7 * time.Second) // frozen for 7 s; then a read arrives
	secondDone := make(chan error, 1)
	go func() { secondDone <- l.confirm(false, verify) }()
	waitJoined(t, l, 1)
	close(first) // round 1's answers, sent before the freeze, arrive
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-rounds:
		if !r.After(began) {
			t.Fatalf("the later read's round began at %v, not after round 1 (%v)", r, began)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read that arrived after the freeze was answered on the round begun before it")
	}
	if err := <-secondDone; err != nil {
		t.Fatal(err)
	}

	// Within the lease a default read needs no round; a read joining a
	// round whose lease still holds at its end shares it.
	n := l.rounds.Load()
	if err := l.confirm(false, verify); err != nil || l.rounds.Load() != n {
		t.Fatalf("a read within the lease ran a round (%v)", err)
	}
	advance(time.Second)
	if err := l.confirm(true, verify); err != nil || l.rounds.Load() != n+1 {
		t.Fatalf("a consistent read ran %d rounds (%v)", l.rounds.Load()-n, err)
	}
}

// waitJoined waits until n reads have waited on a round under way.
func waitJoined(t *testing.T, l *lease, n uint64) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); l.joined.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("no read waits on the round under way")
		}
	}
}

// When quorum rounds are slower than the lease, reads that arrived before
// a round began are all answered by it: each does not wait for a round of
// its own.
func TestSlowRoundServesEveryReadThatArrivedBeforeIt(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	l := &lease{now: clock}
	gates := make(chan chan struct{}, 8)
	verify := func() error {
		gate := make(chan struct{})
		gates <- gate
		<-gate
		advance(2 * time.Second) // each round outlasts the lease
		return nil
	}
	const reads = 5
	done := make(chan error, reads)
	go func() { done <- l.confirm(false, verify) }()
	first := <-gates
	advance(time.Millisecond) // the others arrive after round 1 began
	for i := 1; i < reads; i++ {
		go func() { done <- l.confirm(false, verify) }()
	}
	waitJoined(t, l, reads-1)
	close(first) // round 1 ends with its lease run out: the others go on
	var second chan struct{}
	select {
	case second = <-gates:
	case <-time.After(5 * time.Second):
		t.Fatal("the reads that arrived after round 1 began were answered on it alone")
	}
	waitJoined(t, l, 2*(reads-1)-1) // all but the one running round 2 wait on it
	close(second)
	for i := 0; i < reads; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case gate := <-gates:
			close(gate)
			t.Fatalf("a read that arrived before round 2 began ran round %d", l.rounds.Load())
		case <-time.After(5 * time.Second):
			t.Fatal("a read waits after round 2 ended")
		}
	}
	if n := l.rounds.Load(); n != 2 {
		t.Fatalf("%d rounds for %d reads, want 2", n, reads)
	}
}
