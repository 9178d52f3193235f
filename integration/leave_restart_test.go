package integration

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// A client that leaves and is started again at once, under the same name
// and address, is listed alive by every agent and is back in the catalog
// with its service within a few seconds, and stays there: neither its
// earlier run's leave nor the leader's hold on a node that asked to leave
// takes it out again (the test watches past both of their time limits).
// The earlier run's leave arrives late on purpose: each agent runs on a
// host of its own (a network namespace), and another client is frozen
// (SIGSTOP) through the leave and the restart with the leaving client's
// connections to it dropped, so that the leave reaches it only through the
// gossip it reads on waking, when the other agents already know the new
// run: what it passes on then must not take the new run out.
func TestLeaveAndRestartStaysListed(t *testing.T) {
	lab := newNetLab(t, 5)
	c := &cluster{t: t}
	for i, h := range lab.hosts {
		a := &agent{t: t, server: i < 3, dir: t.TempDir(), host: h.ip, netns: h.ns, http: 8500, rpc: 8300, serf: 8301}
		if a.server {
			a.name = fmt.Sprintf("s%d", i+1)
		} else {
			a.name = fmt.Sprintf("c%d", i-2)
		}
		c.agents = append(c.agents, a)
	}
	c.launch(3)
	c.ready(60 * time.Second)
	c1, c2 := c.agents[3], c.agents[4]
	reg := &api.AgentServiceRegistration{ID: "web", Name: "web", Port: 8080}
	if err := c1.client.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	lab.cutStreams(4, 3)
	c2.cmd.Process.Signal(syscall.SIGSTOP)
	defer c2.cmd.Process.Signal(syscall.SIGCONT)
	out, err := exec.Command(beaconBin, "leave", "-http-addr="+c1.addr(c1.http)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Graceful leave complete") {
		t.Fatalf("beacon leave: %v\n%s", err, out)
	}
	left := time.Now()
	waitfor.Until(t, 10*time.Second, "c1 to exit after its leave", c1.exited)
	lab.heal(4)
	c.start(c1)
	waitfor.Until(t, 15*time.Second, "c1, started again, alive on the servers", func() bool {
		for _, s := range c.servers() {
			ms, err := s.client.Agent().Members(false)
			if err != nil {
				return false
			}
			for _, m := range ms {
				if m.Name == c1.name && m.Status != 1 {
					return false
				}
			}
		}
		return true
	})
	c2.cmd.Process.Signal(syscall.SIGCONT)

	listed := func() string {
		for _, o := range c.agents {
			ms, err := o.client.Agent().Members(false)
			if err != nil {
				return fmt.Sprintf("members of %s: %v", o.name, err)
			}
			found := false
			for _, m := range ms {
				if m.Name == c1.name {
					found = true
					if m.Status != 1 {
						return fmt.Sprintf("%s lists c1 with status %d, want 1 (alive)", o.name, m.Status)
					}
				}
			}
			if !found {
				return o.name + " does not list c1"
			}
		}
		for _, s := range c.servers() {
			svcs, _, err := s.client.Catalog().Service("web", "", &api.QueryOptions{AllowStale: true})
			if err != nil {
				return fmt.Sprintf("catalog of %s: %v", s.name, err)
			}
			if len(svcs) != 1 || svcs[0].Node != c1.name {
				return fmt.Sprintf("%s's catalog has %d instances of web, want c1's", s.name, len(svcs))
			}
		}
		return ""
	}
	deadline := time.Now().Add(15 * time.Second)
	for problem := listed(); problem != ""; problem = listed() {
		if time.Now().After(deadline) {
			t.Fatalf("c1, started again, not listed everywhere 15 s on: %s", problem)
		}
		time.Sleep(50 * time.Millisecond)
	}
	back := time.Now()
	t.Logf("c1 listed again %v after its leave returned", back.Sub(left).Round(time.Millisecond))
	// The leader's hold ends 30 s after the leave at the latest, and a
	// member said to be leaving is taken for alive 15-30 s on.
	for time.Since(left) < 35*time.Second {
		if problem := listed(); problem != "" {
			t.Fatalf("%v after c1 was listed again: %s", time.Since(back).Round(time.Millisecond), problem)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A client whose only server stopped answering (SIGSTOP) while the client
// was pushing a registration to it still leaves within the leave's bounds
// (5 s for the servers to confirm, 5 s for gossip), saying that no server
// confirmed and why (none answered, or gossip has found the server failed
// by then): the push in flight is abandoned, not waited for.
func TestLeaveWithFrozenServerIsBounded(t *testing.T) {
	c := newCluster(t, 1, 1, nil)
	c.ready(30 * time.Second)
	s1, c1 := c.servers()[0], c.clients()[0]
	s1.cmd.Process.Signal(syscall.SIGSTOP)
	defer s1.cmd.Process.Signal(syscall.SIGCONT)
	// The registration's push to the catalog waits on the frozen server.
	go c1.client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web", Name: "web", Port: 8080})
	waitfor.Until(t, 10*time.Second, "the registration to reach c1", func() bool {
		svcs, err := c1.client.Agent().Services()
		return err == nil && svcs["web"] != nil
	})
	start := time.Now()
	out, err := exec.Command(beaconBin, "leave", fmt.Sprintf("-http-addr=127.0.0.1:%d", c1.http)).CombinedOutput()
	took := time.Since(start)
	t.Logf("leave returned after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(string(out)))
	if err == nil || !strings.Contains(string(out), "no server confirmed removing this node from the catalog") ||
		!strings.Contains(string(out), "No known Consul servers") && !strings.Contains(string(out), "no server answered within 5s") {
		t.Fatalf("beacon leave with the only server frozen: %v\n%s", err, out)
	}
	if took > 13*time.Second {
		t.Fatalf("beacon leave took %v with the only server frozen, want at most the leave's 10 s and a margin", took)
	}
	waitfor.Until(t, 10*time.Second, "the client to exit after its leave", c1.exited)
}
