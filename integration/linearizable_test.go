package integration

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// Concurrent puts, CAS and reads (consistent and default) against random
// servers while servers are killed, restarted and frozen: the history must
// be linearizable, and once a frozen leader's successor is elected, writes
// go on within a client's timeout instead of waiting for the frozen one.
//
// Patient writers meanwhile keep writes in flight at the leader, directly
// and through a client agent, and wait out a freeze: when the leader
// resumes after another was elected, the writes it was committing are
// answered then. An answer that calls such a write "not applied" while the
// new leader committed it makes the history illegal; through the client
// agent, which sends the write again under its request ID, the write is
// settled instead.
func TestLinearizableUnderFaults(t *testing.T) {
	c := newCluster(t, 3, 1, nil)
	c.ready(30 * time.Second)
	servers := c.servers()
	w := newKVWorkload()
	w.run(6, servers, []string{"lin/a", "lin/b", "lin/c"})
	var target atomic.Pointer[agent]
	target.Store(c.leader(15 * time.Second))
	for id := 10; id < 18; id++ {
		via := func() *agent { return target.Load() }
		if id%4 == 0 {
			via = func() *agent { return c.clients()[0] }
		}
		w.wg.Add(1)
		go w.patientWriter(t, id, via, servers)
	}

	// The nemesis: kill and restart a random server, freeze the leader. A
	// freeze lasts long enough for an election to end within it even on a
	// busy machine.
	const freeze = 7 * time.Second
	rng := rand.New(rand.NewPCG(99, 1))
	var freezes []takeover
	for step, end := 0, time.Now().Add(30*time.Second); time.Now().Before(end); step++ {
		time.Sleep(2 * time.Second)
		switch step % 3 {
		case 0:
			victim := servers[rng.IntN(len(servers))]
			w.event(t, "kill %s", victim.name)
			victim.kill()
			time.Sleep(time.Second)
			w.event(t, "restart %s", victim.name)
			c.start(victim)
		case 1, 2:
			l := c.leader(15 * time.Second)
			target.Store(l)
			time.Sleep(300 * time.Millisecond) // writes in flight at l
			stopWatch := make(chan struct{})
			w.event(t, "freeze %s (leader)", l.name)
			l.cmd.Process.Signal(syscall.SIGSTOP)
			elected := newLeaderWatch(servers, l, stopWatch)
			time.Sleep(freeze)
			w.event(t, "resume %s", l.name)
			l.cmd.Process.Signal(syscall.SIGCONT)
			close(stopWatch)
			freezes = append(freezes, takeover{old: l.name, how: fmt.Sprintf("frozen for %v", freeze), elected: elected})
			time.Sleep(500 * time.Millisecond)
		}
		target.Store(c.leader(15 * time.Second))
	}
	w.halt()
	patient := func(in kvInput) bool { return in.op == "write" && in.key >= "lin/p" }
	viaClient := func(in kvInput) bool { return in.key == "lin/p12" || in.key == "lin/p16" }
	t.Logf("%d operations (%d acknowledged writes, %d of unknown outcome); patient writes: %d, %d not applied, %d of unknown outcome (%d of them through the client agent)",
		len(w.h.ops), w.writes.Load(), w.unknown.Load(),
		w.h.count(func(in kvInput, _ kvOutput) bool { return patient(in) }),
		w.h.count(func(in kvInput, out kvOutput) bool { return patient(in) && out.failed }),
		w.h.count(func(in kvInput, out kvOutput) bool { return patient(in) && out.unknown }),
		w.h.count(func(in kvInput, out kvOutput) bool { return patient(in) && out.unknown && viaClient(in) }))

	w.h.check(t)
	if w.writes.Load() < 50 {
		t.Fatalf("only %d writes were acknowledged; the cluster was not available", w.writes.Load())
	}
	for _, f := range freezes {
		f.check(t, w)
	}
}

// takeover is a leader frozen or cut off, and when the others first named
// another leader (nothing on elected if they never did).
type takeover struct {
	old, how string
	elected  <-chan time.Time
}

// check fails the test when no leader took over, or writes did not go on
// within a client's timeout (2 s) and one more second once one did.
func (f takeover) check(t *testing.T, w *kvWorkload) {
	t.Helper()
	var at time.Time
	select {
	case at = <-f.elected:
	default:
		t.Errorf("no leader took over while %s was %s", f.old, f.how)
		return
	}
	ack, ok := w.firstAckAfter(at)
	if !ok || ack.Sub(at) > 3*time.Second {
		t.Errorf("writes stalled after a new leader took over from %s, %s (first acknowledged write %v later)", f.old, f.how, ack.Sub(at))
		return
	}
	t.Logf("%s %s: a write was acknowledged %v after a new leader was known", f.old, f.how, ack.Sub(at).Round(time.Millisecond))
}

// patientWriter writes its own key through via() with a timeout longer
// than a freeze, then reads the key back from any server.
func (w *kvWorkload) patientWriter(t *testing.T, id int, via func() *agent, servers []*agent) {
	defer w.wg.Done()
	rng := rand.New(rand.NewPCG(uint64(id), 11))
	key := fmt.Sprintf("lin/p%d", id)
	for n := 0; !w.stopped(); n++ {
		a := via()
		if a.exited() {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		val := fmt.Sprintf("p%d-%d", id, n)
		call := time.Now()
		_, err := timedClient(a, 20*time.Second).KV().Put(&api.KVPair{Key: key, Value: []byte(val)}, nil)
		w.h.add(id, kvInput{op: "write", key: key, value: val, via: a.name}, call, writeOutput(true, err), time.Now())
		if err != nil {
			t.Logf("patient write through %s: %v", a.name, err)
			time.Sleep(100 * time.Millisecond)
		}
		if r := servers[rng.IntN(len(servers))]; !r.exited() {
			w.read(id, r, timedClient(r, 2*time.Second), key, true)
		}
	}
}
