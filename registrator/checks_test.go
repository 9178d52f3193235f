package registrator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/registrator"
	"github.com/beacon-sd/beacon/registrator/dockertest"
)

// checkOf returns the agent's check with that ID, or nil.
func (h *harness) checkOf(id string) *api.AgentCheck {
	h.t.Helper()
	checks, err := h.client.Agent().Checks()
	if err != nil {
		h.t.Fatal(err)
	}
	return checks[id]
}

// waitStatus waits until a check has a status.
func (h *harness) waitStatus(checkID, status string, within time.Duration) *api.AgentCheck {
	h.t.Helper()
	var c *api.AgentCheck
	deadline := time.Now().Add(within)
	for {
		if c = h.checkOf(checkID); c != nil && c.Status == status {
			return c
		}
		if time.Now().After(deadline) {
			if c == nil {
				h.t.Fatalf("check %s: not registered after %v", checkID, within)
			}
			h.t.Fatalf("check %s: %s (%q) after %v, want %s", checkID, c.Status, c.Output, within, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SERVICE_CHECK_* settings become agent checks that the agent runs against
// the service's address.
func TestServiceChecks(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{})
	pHTTP, pTCP, pTTL := freeport.Port(t), freeport.Port(t), freeport.Port(t)
	h.eng.Run(t, dockertest.Container{Name: "httpcheck", Publish: map[string]int{"80/tcp": pHTTP},
		Env: []string{"SERVICE_NAME=httpcheck", "SERVICE_ID=httpcheck", "SERVICE_CHECK_HTTP=/health", "SERVICE_CHECK_INTERVAL=1s", "SERVICE_CHECK_TIMEOUT=1s"}})
	h.eng.Run(t, dockertest.Container{Name: "tcpcheck", Publish: map[string]int{"80/tcp": pTCP},
		Env: []string{"SERVICE_NAME=tcpcheck", "SERVICE_ID=tcpcheck", "SERVICE_80_CHECK_TCP=true", "SERVICE_80_CHECK_INTERVAL=1s"}})
	h.eng.Run(t, dockertest.Container{Name: "ttlcheck", Publish: map[string]int{"80/tcp": pTTL},
		Env: []string{"SERVICE_NAME=ttlcheck", "SERVICE_ID=ttlcheck", "SERVICE_CHECK_TTL=30s", "SERVICE_CHECK_INITIAL_STATUS=warning"}})

	c := h.waitStatus("service:httpcheck", api.HealthPassing, 5*time.Second)
	if c.Type != "http" || c.ServiceID != "httpcheck" {
		t.Errorf("http check: type %q service %q", c.Type, c.ServiceID)
	}
	c = h.waitStatus("service:tcpcheck", api.HealthPassing, 5*time.Second)
	if c.Type != "tcp" {
		t.Errorf("tcp check: type %q", c.Type)
	}
	c = h.waitStatus("service:ttlcheck", api.HealthWarning, 2*time.Second)
	if c.Type != "ttl" {
		t.Errorf("ttl check: type %q", c.Type)
	}
	// Health reaches consumers: the HTTP-checked service is passing.
	entries, _, err := h.client.Health().Service("httpcheck", "", true, nil)
	if err != nil || len(entries) != 1 {
		t.Fatalf("passing instances of httpcheck: %d, %v", len(entries), err)
	}
}

// A container's Docker HEALTHCHECK state is mirrored by a check on each
// of its services: critical while starting, passing once healthy.
func TestDockerHealthMirrored(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{HealthRefresh: time.Second})
	h.eng.Run(t, dockertest.Container{Name: "healthy", Publish: map[string]int{"80/tcp": freeport.Port(t)},
		Env: []string{"SERVICE_NAME=healthy", "SERVICE_ID=healthy"},
		Healthcheck: &container.HealthConfig{
			Test:     []string{"CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/health"},
			Interval: 300 * time.Millisecond, Timeout: time.Second, StartPeriod: 0, Retries: 1,
		}})
	h.waitCatalog("healthy", 1, 2*time.Second)
	h.waitStatus("service:healthy:docker-health", api.HealthPassing, 10*time.Second)

	// Unhealthy: the web root disappears.
	h.eng.Run(t, dockertest.Container{Name: "sick", Publish: map[string]int{"80/tcp": freeport.Port(t)},
		Env: []string{"SERVICE_NAME=sick", "SERVICE_ID=sick"},
		Healthcheck: &container.HealthConfig{
			Test:     []string{"CMD", "false"},
			Interval: 300 * time.Millisecond, Timeout: time.Second, Retries: 1,
		}})
	h.waitCatalog("sick", 1, 2*time.Second)
	h.waitStatus("service:sick:docker-health", api.HealthCritical, 10*time.Second)
	entries, _, err := h.client.Health().Service("sick", "", true, nil)
	if err != nil || len(entries) != 0 {
		t.Errorf("passing instances of an unhealthy container: %d, %v", len(entries), err)
	}
}

// -ttl gives every service a heartbeat check that the registrator keeps
// passing every -ttl-refresh.
func TestTTLHeartbeat(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{TTL: 2 * time.Second, TTLRefresh: 500 * time.Millisecond})
	h.eng.Run(t, dockertest.Container{Name: "beat", Publish: map[string]int{"80/tcp": freeport.Port(t)},
		Env: []string{"SERVICE_NAME=beat", "SERVICE_ID=beat"}})
	h.waitStatus("service:beat:registrator-ttl", api.HealthPassing, 2*time.Second)
	time.Sleep(3 * time.Second) // longer than the TTL: only the refresh keeps it passing
	if c := h.checkOf("service:beat:registrator-ttl"); c == nil || c.Status != api.HealthPassing {
		t.Fatalf("heartbeat check after 3s: %+v", c)
	}
}

// -resync writes back a registration the agent lost.
func TestResyncRestoresLostRegistration(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{Resync: time.Second})
	h.eng.Run(t, dockertest.Container{Name: "lost", Publish: map[string]int{"80/tcp": freeport.Port(t)},
		Env: []string{"SERVICE_NAME=lost", "SERVICE_ID=lost-1"}})
	h.waitCatalog("lost", 1, 2*time.Second)
	if err := h.client.Agent().ServiceDeregister("lost-1"); err != nil {
		t.Fatal(err)
	}
	h.waitCatalog("lost", 0, time.Second)
	h.waitCatalog("lost", 1, 3*time.Second)
}

// Script checks run on the agent's host with $SERVICE_IP and $SERVICE_PORT
// filled in; docker checks run inside the container.
func TestScriptAndDockerChecks(t *testing.T) {
	h := newHarness(t, testagent.WithHCL("enable_script_checks = true"))
	// The agent's docker checks reach the engine named by DOCKER_HOST when
	// the first one runs, once per process; a second run of this test in
	// the same process (-count) finds them bound to the first run's engine.
	dockerChecks := !dockerChecksBound
	dockerChecksBound = true
	t.Setenv("DOCKER_HOST", h.eng.Host)
	h.start(registrator.Config{})
	h.eng.Run(t, dockertest.Container{Name: "scripted", Publish: map[string]int{"80/tcp": freeport.Port(t)},
		Env: []string{"SERVICE_NAME=scripted", "SERVICE_ID=scripted", "SERVICE_CHECK_INTERVAL=1s",
			"SERVICE_CHECK_SCRIPT=busybox wget -q -O /dev/null http://$SERVICE_IP:$SERVICE_PORT/health"}})
	h.eng.Run(t, dockertest.Container{Name: "dockered", Publish: map[string]int{"80/tcp": freeport.Port(t)},
		Env: []string{"SERVICE_NAME=dockered", "SERVICE_ID=dockered", "SERVICE_CHECK_INTERVAL=1s",
			"SERVICE_CHECK_DOCKER=test -f /www/health"}})
	h.waitStatus("service:scripted", api.HealthPassing, 5*time.Second)
	if !dockerChecks {
		t.Log("docker check status not asserted: the agent's Docker client is bound to an earlier run's engine")
		return
	}
	h.waitStatus("service:dockered", api.HealthPassing, 5*time.Second)
}

// dockerChecksBound records that the agent's docker checks have been
// pointed at an engine in this process.
var dockerChecksBound bool

// An agent that refuses a registration (script checks disabled) gets a log
// line naming the container; the registrator does not hammer it.
func TestRefusedRegistrationIsLogged(t *testing.T) {
	h := newHarness(t)
	r := h.start(registrator.Config{})
	h.eng.Run(t, dockertest.Container{Name: "noscripts", Publish: map[string]int{"80/tcp": freeport.Port(t)},
		Env: []string{"SERVICE_NAME=noscripts", "SERVICE_CHECK_SCRIPT=true"}})
	h.eng.Run(t, dockertest.Container{Name: "other", Publish: map[string]int{"80/tcp": freeport.Port(t)},
		Env: []string{"SERVICE_NAME=other"}})
	h.waitCatalog("other", 1, 2*time.Second)
	h.waitFor("a log line about the refused registration", 2*time.Second, func() bool {
		return strings.Contains(r.log.String(), "registration refused") && strings.Contains(r.log.String(), "container=noscripts")
	})
	time.Sleep(500 * time.Millisecond)
	if n := strings.Count(r.log.String(), "registration refused"); n != 1 {
		t.Errorf("refusal logged %d times, want once (no retry loop)", n)
	}
}

// With heartbeats on, a registration the agent lost is noticed at the next
// heartbeat and written again, even without -resync.
func TestHeartbeatRestoresLostRegistration(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{TTL: 3 * time.Second, TTLRefresh: 300 * time.Millisecond})
	h.eng.Run(t, dockertest.Container{Name: "lost2", Publish: map[string]int{"80/tcp": freeport.Port(t)},
		Env: []string{"SERVICE_NAME=lost2", "SERVICE_ID=lost2"}})
	h.waitCatalog("lost2", 1, 2*time.Second)
	if err := h.client.Agent().ServiceDeregister("lost2"); err != nil {
		t.Fatal(err)
	}
	h.waitCatalog("lost2", 0, time.Second)
	h.waitCatalog("lost2", 1, 2*time.Second)
	h.waitStatus("service:lost2:registrator-ttl", api.HealthPassing, 2*time.Second)
}
