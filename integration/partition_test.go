package integration

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// Three servers, each on a host of its own (a network namespace), while
// clients write and read through every server: the leader is cut off from
// its peers for 12-15 s, three times. The history must be linearizable (no
// acknowledged write lost, no stale read from the cut-off leader), the
// other two must elect a leader and go on taking writes, and the old
// leader must catch up once the cut heals.
func TestLinearizableUnderPartitions(t *testing.T) {
	lab := newNetLab(t, 3)
	c := &cluster{t: t}
	for i, h := range lab.hosts {
		c.agents = append(c.agents, &agent{t: t, server: true, dir: t.TempDir(), name: fmt.Sprintf("s%d", i+1),
			host: h.ip, netns: h.ns, http: 8500, rpc: 8300, serf: 8301})
	}
	c.launch(3)
	c.ready(60 * time.Second)
	servers := c.servers()
	w := newKVWorkload()
	w.run(6, servers, []string{"part/a", "part/b", "part/c"})

	rng := rand.New(rand.NewPCG(7, 3))
	var cuts []takeover
	for round := 0; round < 3; round++ {
		time.Sleep(2 * time.Second)
		l := c.leader(30 * time.Second)
		i := index(servers, l)
		var peers []int
		for j := range servers {
			if j != i {
				peers = append(peers, j)
			}
		}
		d := 12*time.Second + time.Duration(rng.IntN(3000))*time.Millisecond
		stop := make(chan struct{})
		w.event(t, "cut %s (leader) off", l.name)
		lab.cut(i, peers)
		elected := newLeaderWatch(servers, l, stop)
		time.Sleep(d)
		w.event(t, "heal %s", l.name)
		lab.heal(i)
		close(stop)
		cuts = append(cuts, takeover{old: l.name, how: fmt.Sprintf("cut off for %v", d.Round(time.Millisecond)), elected: elected})
		// The old leader rejoins: every server answers a consistent read.
		for _, a := range servers {
			waitForRead(t, a, 30*time.Second)
		}
	}
	w.halt()
	t.Logf("%d operations (%d acknowledged writes, %d of unknown outcome)", len(w.h.ops), w.writes.Load(), w.unknown.Load())
	w.h.check(t)
	for _, f := range cuts {
		f.check(t, w)
	}
}

// index is a's position in list.
func index(list []*agent, a *agent) int {
	for i, b := range list {
		if b == a {
			return i
		}
	}
	return -1
}

// waitForRead waits until a answers a consistent read.
func waitForRead(t *testing.T, a *agent, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, _, err := timedClient(a, 2*time.Second).KV().Get("part/a", &api.QueryOptions{RequireConsistent: true})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s answers no consistent read %v after the cut healed: %v", a.name, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
