package registrator_test

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/registrator"
	"github.com/beacon-sd/beacon/registrator/dockertest"
)

// Restarting the registrator drops nothing that still runs; with -cleanup
// the new one removes what stopped while it was away, and registers what
// started, without duplicates.
func TestRegistratorRestart(t *testing.T) {
	h := newHarness(t)
	first := h.start(registrator.Config{Cleanup: true})
	ids := make([]string, 3)
	for i, name := range []string{"keep", "stopped-while-away", "removed-while-away"} {
		ids[i] = h.eng.Run(t, dockertest.Container{Name: name, Env: []string{"SERVICE_NAME=" + name},
			Publish: map[string]int{"80/tcp": freeport.Port(t)}})
		h.waitCatalog(name, 1, 2*time.Second)
	}
	first.stop(t)
	for _, name := range []string{"keep", "stopped-while-away", "removed-while-away"} {
		if n := len(h.catalog(name)); n != 1 {
			t.Fatalf("%s: %d instances after the registrator stopped, want its registration kept", name, n)
		}
	}
	h.eng.Stop(t, ids[1], 1)
	h.eng.Remove(t, ids[2])
	h.eng.Run(t, dockertest.Container{Name: "started-while-away", Env: []string{"SERVICE_NAME=started-while-away"},
		Publish: map[string]int{"80/tcp": freeport.Port(t)}})

	// Watch "keep" across the restart: it must never leave the catalog.
	var dropped atomic.Bool
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stopWatch:
				return
			default:
			}
			if svcs, _, err := h.client.Catalog().Service("keep", "", nil); err == nil && len(svcs) != 1 {
				dropped.Store(true)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	h.start(registrator.Config{Cleanup: true})
	h.waitCatalog("started-while-away", 1, 2*time.Second)
	h.waitCatalog("stopped-while-away", 0, 2*time.Second)
	h.waitCatalog("removed-while-away", 0, 2*time.Second)
	close(stopWatch)
	<-watched
	if dropped.Load() {
		t.Error("a running container's service left the catalog during the registrator's restart")
	}
	h.waitCatalog("keep", 1, time.Second)
	h.noDuplicates()
}

// Without -cleanup a new registrator leaves services it did not register
// alone, and says so.
func TestWithoutCleanupOrphansStay(t *testing.T) {
	h := newHarness(t)
	first := h.start(registrator.Config{})
	id := h.eng.Run(t, dockertest.Container{Name: "gone", Env: []string{"SERVICE_NAME=gone"}, Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	h.waitCatalog("gone", 1, 2*time.Second)
	first.stop(t)
	h.eng.Remove(t, id)
	second := h.start(registrator.Config{})
	h.waitFor("the reconcile to report the orphan", 3*time.Second, func() bool {
		return strings.Contains(second.log.String(), "-cleanup removes them")
	})
	if n := len(h.catalog("gone")); n != 1 {
		t.Errorf("%d instances, want the orphan left in place without -cleanup", n)
	}
}

// A dockerd restart kills the containers and cuts the event stream: the
// registrator keeps running, reconnects, deregisters what no longer runs
// and re-registers what came back (restart policy), with no duplicates.
func TestDockerdRestart(t *testing.T) {
	h := newHarness(t)
	r := h.start(registrator.Config{MaxBackoff: 500 * time.Millisecond})
	// Eleven services, as in the measurement of Registrator that left 3 of
	// 11 stale: ten containers without a restart policy and one with.
	for i := 0; i < 10; i++ {
		h.eng.Run(t, dockertest.Container{Name: "plain-" + itoa(i), Env: []string{"SERVICE_NAME=plain"}, Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	}
	h.eng.Run(t, dockertest.Container{Name: "always", Restart: "always", Env: []string{"SERVICE_NAME=always"},
		Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	h.waitCatalog("plain", 10, 3*time.Second)
	h.waitCatalog("always", 1, 2*time.Second)

	h.eng.StopDaemon()
	h.waitCatalog("plain", 0, 3*time.Second)
	time.Sleep(500 * time.Millisecond) // the registrator keeps retrying the engine
	h.eng.StartDaemon()
	h.waitCatalog("always", 1, 5*time.Second)
	h.waitFor("the reconcile after the reconnect", 5*time.Second, func() bool {
		return strings.Contains(r.log.String(), "docker engine back")
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(h.catalog("plain")); n != 0 {
		t.Errorf("%d stale instances of stopped containers", n)
	}
	h.noDuplicates()
	select {
	case err := <-r.done:
		t.Fatalf("registrator exited during the engine restart: %v", err)
	default:
	}
}

// Two registrators on one host write the same IDs: no duplicates, and a
// stop is seen by both.
func TestTwoRegistratorsOneHost(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{Cleanup: true, Resync: time.Second})
	h.start(registrator.Config{Cleanup: true, Resync: time.Second})
	var ids []string
	for _, name := range []string{"a", "b", "c"} {
		ids = append(ids, h.eng.Run(t, dockertest.Container{Name: "twin-" + name, Env: []string{"SERVICE_NAME=twin"},
			Publish: map[string]int{"80/tcp": freeport.Port(t)}}))
	}
	h.waitCatalog("twin", 3, 2*time.Second)
	time.Sleep(1500 * time.Millisecond) // a resync of each
	h.waitCatalog("twin", 3, time.Second)
	h.noDuplicates()
	h.eng.Stop(t, ids[0], 1)
	h.waitCatalog("twin", 2, 2*time.Second)
}

// While the agent does not answer, registrations wait and are retried;
// nothing is lost when it answers again.
func TestAgentDownRegistrationsRetry(t *testing.T) {
	h := newHarness(t)
	proxy := newProxy(t, h.agent.HTTPAddr)
	h.start(registrator.Config{RegistryURI: "consul://" + proxy.addr, MaxBackoff: 200 * time.Millisecond})
	h.eng.Run(t, dockertest.Container{Name: "before", Env: []string{"SERVICE_NAME=before"}, Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	h.waitCatalog("before", 1, 2*time.Second)

	proxy.setUp(false)
	h.eng.Run(t, dockertest.Container{Name: "during", Env: []string{"SERVICE_NAME=during"}, Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	time.Sleep(500 * time.Millisecond)
	if n := len(h.catalog("during")); n != 0 {
		t.Fatalf("registered through a closed proxy?")
	}
	proxy.setUp(true)
	h.waitCatalog("during", 1, 2*time.Second)
	h.waitCatalog("before", 1, time.Second)
}

// proxy forwards TCP to the agent and can refuse connections, as an agent
// that is down does.
type proxy struct {
	addr string
	up   atomic.Bool
	mu   sync.Mutex
	open []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String()}
	p.up.Store(true)
	t.Cleanup(func() { l.Close(); p.setUp(false) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				c.Close()
				continue
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.open = append(p.open, c, b)
			p.mu.Unlock()
			go func() { io.Copy(b, c); b.Close() }()
			go func() { io.Copy(c, b); c.Close() }()
		}
	}()
	return p
}

// setUp opens or closes the proxy; closing it also cuts open connections.
func (p *proxy) setUp(up bool) {
	p.up.Store(up)
	if up {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.open {
		c.Close()
	}
	p.open = nil
}
