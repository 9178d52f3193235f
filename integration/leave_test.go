package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// Twenty clients leave one after another while the servers take a steady
// stream of KV writes. Once `leave` returns, the client is "left" on every
// agent still running, and its node and its service are gone from the
// catalog and from every server's DNS, within a second; no client that
// left earlier turns up again.
func TestLeaveUnderWriteLoad(t *testing.T) {
	const servers, clients = 3, 20
	dns := freeport.Ports(t, servers)
	c := newTunedCluster(t, servers, clients, nil, func(a *agent, cfg map[string]interface{}) {
		if a.server {
			var i int
			fmt.Sscanf(a.name, "s%d", &i)
			cfg["ports"].(map[string]int)["dns"] = dns[i-1]
		}
	})
	c.ready(60 * time.Second)
	for i, a := range c.clients() {
		reg := &api.AgentServiceRegistration{ID: "app", Name: "app-" + a.name, Port: 8000 + i}
		if err := a.client.Agent().ServiceRegister(reg); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range c.clients() {
		waitfor.Until(t, 30*time.Second, "app-"+a.name+" in every server's DNS", func() bool {
			for _, port := range dns {
				if len(digSRV(t, port, "app-"+a.name)) != 1 {
					return false
				}
			}
			return true
		})
	}

	ctx, stop := context.WithCancel(context.Background())
	writes := startKVLoad(ctx, c.servers(), 4)
	defer func() {
		stop()
		t.Logf("%d KV writes during the leaves", writes())
	}()

	left := map[string]bool{}
	var worst time.Duration
	for i, a := range c.clients() {
		start := time.Now()
		if i%2 == 0 {
			out, err := exec.Command(beaconBin, "leave", fmt.Sprintf("-http-addr=127.0.0.1:%d", a.http)).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Graceful leave complete") {
				t.Fatalf("beacon leave on %s: %v\n%s", a.name, err, out)
			}
		} else if err := a.client.Agent().Leave(); err != nil {
			t.Fatalf("leave of %s: %v", a.name, err)
		}
		returned := time.Now()
		left[a.name] = true
		var remaining []*agent
		for _, o := range c.agents {
			if !left[o.name] {
				remaining = append(remaining, o)
			}
		}
		took, problem := awaitGone(t, a, remaining, left, dns, returned)
		if problem != "" {
			t.Fatalf("%s: %s one second after its leave returned (leave took %v)", a.name, problem, returned.Sub(start))
		}
		worst = max(worst, took)
		t.Logf("%s: leave took %v; gone everywhere %v after", a.name, returned.Sub(start).Round(time.Millisecond), took.Round(time.Millisecond))
		waitfor.Until(t, 10*time.Second, a.name+" to exit after its leave", a.exited)
	}
	t.Logf("worst time from a leave's return to gone everywhere: %v", worst)
}

// awaitGone checks, on each agent still running, that the client that
// left is "left" there (and every client that left earlier still is), on
// each server that the node is out of its /v1/catalog/nodes, and on each
// server's DNS that it has no answer for the client's service. Each
// condition is polled from the leave's return up to one second after it
// (see pollUntil), and holds in time when a check started within that
// second finds it so. Every server's DNS is asked: the leader applied the
// removal before the leave's catalog step returned, and the followers learn
// that it was committed with the next append, long before the gossip step
// that follows is done. awaitGone returns how long after the return the
// last condition was found to hold, and what did not hold in time.
func awaitGone(t *testing.T, gone *agent, remaining []*agent, left map[string]bool, dns []int, returned time.Time) (time.Duration, string) {
	t.Helper()
	deadline := returned.Add(time.Second)
	var mu sync.Mutex
	var problems []string
	var last time.Duration
	var wg sync.WaitGroup
	poll := func(probe func() string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held, problem := pollUntil(deadline, 50*time.Millisecond, probe)
			mu.Lock()
			defer mu.Unlock()
			if problem == "" {
				last = max(last, held.Sub(returned))
			} else {
				problems = append(problems, problem)
			}
		}()
	}
	for _, o := range remaining {
		poll(func() string { return memberProblem(o, left) })
		if o.server {
			poll(func() string { return catalogProblem(o, gone) })
		}
	}
	for _, port := range dns {
		poll(func() string {
			if rrs := digSRV(t, port, "app-"+gone.name); len(rrs) > 0 {
				return fmt.Sprintf("DNS on port %d still answers %v", port, rrs)
			}
			return ""
		})
	}
	wg.Wait()
	return last, strings.Join(problems, "; ")
}

// pollUntil starts a check (probe, which says what is wrong, "" if
// nothing) every `every` until deadline, the last one at the deadline (or
// as soon after it as a busy machine gets to it, standing for it), each
// without waiting for the ones before it to answer: a slow answer does not
// keep the condition from being checked again within the time. Once a
// check finds nothing wrong no more are started, and pollUntil returns when
// the earliest check that found nothing wrong started; if none did, it
// returns what the last check started found.
func pollUntil(deadline time.Time, every time.Duration, probe func() string) (time.Time, string) {
	type result struct {
		started time.Time
		problem string
	}
	results := make(chan result, max(int(time.Until(deadline)/every), 0)+3)
	var held time.Time
	var latest result
	tick := time.NewTimer(0)
	defer tick.Stop()
	started, finished, done := 0, 0, false
	for !done || finished < started {
		var next <-chan time.Time
		if !done {
			next = tick.C
		}
		select {
		case <-next:
			at := time.Now()
			if done = !at.Before(deadline); done {
				at = deadline
			} else {
				tick.Reset(min(every, time.Until(deadline)))
			}
			started++
			go func() { results <- result{at, probe()} }()
		case r := <-results:
			finished++
			switch {
			case r.problem == "":
				if held.IsZero() || r.started.Before(held) {
					held = r.started
				}
				done = true
			case !r.started.Before(latest.started):
				latest = r
			}
		}
	}
	if !held.IsZero() {
		return held, ""
	}
	return time.Time{}, latest.problem
}

// memberProblem says which client that left is not "left" on o.
func memberProblem(o *agent, left map[string]bool) string {
	ms, err := o.client.Agent().Members(false)
	if err != nil {
		return fmt.Sprintf("members of %s: %v", o.name, err)
	}
	var bad []string
	for _, m := range ms {
		if left[m.Name] && m.Status != 3 {
			bad = append(bad, fmt.Sprintf("%s has status %d on %s, want 3 (left)", m.Name, m.Status, o.name))
		}
	}
	return strings.Join(bad, "; ")
}

// catalogProblem says whether the node that left is still in server o's
// catalog.
func catalogProblem(o *agent, gone *agent) string {
	nodes, _, err := o.client.Catalog().Nodes(&api.QueryOptions{AllowStale: true})
	if err != nil {
		return fmt.Sprintf("catalog of %s: %v", o.name, err)
	}
	for _, n := range nodes {
		if n.Node == gone.name {
			return fmt.Sprintf("%s still in %s's /v1/catalog/nodes", gone.name, o.name)
		}
	}
	return ""
}

// digSRV asks a DNS port for NAME.service.consul SRV records and returns
// them, one per line of dig's short answer.
func digSRV(t *testing.T, port int, name string) []string {
	t.Helper()
	out, err := exec.Command("dig", "+short", "+time=2", "+tries=1", "-p", fmt.Sprint(port), "@127.0.0.1",
		name+".service.consul", "SRV").Output()
	if err != nil {
		return []string{"dig failed: " + err.Error()}
	}
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), " ", "_"))
}

// startKVLoad writes keys through the servers' HTTP APIs from n goroutines
// until ctx ends; the returned func counts the writes that succeeded.
func startKVLoad(ctx context.Context, servers []*agent, n int) func() int {
	var mu sync.Mutex
	count := 0
	for i := 0; i < n; i++ {
		kv := servers[i%len(servers)].client.KV()
		go func() {
			for j := 0; ctx.Err() == nil; j++ {
				p := &api.KVPair{Key: fmt.Sprintf("load/%d/%d", i, j%100), Value: []byte(fmt.Sprint(j))}
				if _, err := kv.Put(p, (&api.WriteOptions{}).WithContext(ctx)); err == nil {
					mu.Lock()
					count++
					mu.Unlock()
				}
			}
		}()
	}
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return count
	}
}

// With no server to confirm that its node left the catalog, a client's
// leave does not claim to be complete: the CLI says what did not happen
// and exits non-zero, and the agent still stops.
func TestLeaveWithoutServersSaysSo(t *testing.T) {
	c := newCluster(t, 1, 1, nil)
	c.ready(30 * time.Second)
	s1, c1 := c.servers()[0], c.clients()[0]
	s1.kill()
	start := time.Now()
	out, err := exec.Command(beaconBin, "leave", fmt.Sprintf("-http-addr=127.0.0.1:%d", c1.http)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no server confirmed removing this node from the catalog") {
		t.Fatalf("beacon leave with the only server down: %v\n%s", err, out)
	}
	t.Logf("leave gave up after %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(out)))
	waitfor.Until(t, 10*time.Second, "the client to exit after its leave", c1.exited)
}
