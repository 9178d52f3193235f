package dns_test

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/testagent"
)

// The agent serves DNS on its client address: a service registered through
// the agent answers by name, and leaves the answer in maintenance.
func TestAgentServesDNS(t *testing.T) {
	a := testagent.Start(t)
	if a.DNSAddr == "" {
		t.Fatal("the agent has no DNS address")
	}
	err := a.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 80,
		Address: "10.9.9.9", Check: &api.AgentServiceCheck{TTL: "1m", Status: "passing"}})
	if err != nil {
		t.Fatal(err)
	}
	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		r, _, err := new(dns.Client).Exchange(m, a.DNSAddr)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := ask("web.service.consul.", dns.TypeA)
		if len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == "10.9.9.9" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web.service.consul: %v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := ask(a.Agent.Node().Node+".node.consul.", dns.TypeA); len(r.Answer) != 1 {
		t.Fatalf("node lookup: %v", r)
	}
	a.Client.Agent().EnableServiceMaintenance("web-1", "deploy")
	deadline = time.Now().Add(5 * time.Second)
	for {
		r := ask("web.service.consul.", dns.TypeA)
		if len(r.Answer) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an instance in maintenance is still answered: %v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
