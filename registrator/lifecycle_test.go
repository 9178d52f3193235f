package registrator_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/registrator"
	"github.com/beacon-sd/beacon/registrator/dockertest"
	"github.com/beacon-sd/beacon/registrator/service"
)

// The seed's flow: a container started with SERVICE_NAME, SERVICE_TAGS and
// SERVICE_ID is in the catalog within a second, and gone within a second
// of being stopped.
func TestContainerRegistersAndDeregisters(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{Tags: []string{"dc1"}})
	port := freeport.Port(t)
	id := h.eng.Run(t, dockertest.Container{
		Name:    "nginx-test",
		Env:     []string{"SERVICE_NAME=nginx-test", "SERVICE_TAGS=calico", "SERVICE_ID=nginx-test-1", "SERVICE_REGION=eu"},
		Publish: map[string]int{"80/tcp": port},
	})
	got := h.waitCatalog("nginx-test", 1, time.Second)[0]
	if got.ServiceID != "nginx-test-1" || got.ServiceAddress != "127.0.0.1" || got.ServicePort != port {
		t.Errorf("registered %s at %s:%d, want nginx-test-1 at 127.0.0.1:%d", got.ServiceID, got.ServiceAddress, got.ServicePort, port)
	}
	if !reflect.DeepEqual(got.ServiceTags, []string{"calico", "dc1"}) {
		t.Errorf("tags %v, want [calico dc1]", got.ServiceTags)
	}
	if got.ServiceMeta["region"] != "eu" || got.ServiceMeta[service.MetaHost] != h.host || got.ServiceMeta[service.MetaContainer] != id {
		t.Errorf("meta %v", got.ServiceMeta)
	}

	h.eng.Stop(t, id, 1)
	h.waitCatalog("nginx-test", 0, time.Second)
}

// Without SERVICE_* settings a container is named after its image and gets
// the ID <host>:<container>:<port>; UDP ports get :udp and a udp tag; two
// ports make two services named <image>-<port>.
func TestDefaultNamesAndIDs(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{})
	p1, p2, p3 := freeport.Port(t), freeport.Port(t), freeport.Port(t)
	h.eng.Run(t, dockertest.Container{Name: "web1", Publish: map[string]int{"80/tcp": p1}})
	h.eng.Run(t, dockertest.Container{Name: "dns1", Publish: map[string]int{"53/udp": p2, "80/tcp": p3}})

	web := h.waitCatalog("busybox", 1, 2*time.Second)[0]
	if want := h.host + ":web1:80"; web.ServiceID != want || web.ServicePort != p1 {
		t.Errorf("got %s port %d, want %s port %d", web.ServiceID, web.ServicePort, want, p1)
	}
	udp := h.waitCatalog("busybox-53", 1, 2*time.Second)[0]
	if want := h.host + ":dns1:53:udp"; udp.ServiceID != want || !reflect.DeepEqual(udp.ServiceTags, []string{"udp"}) {
		t.Errorf("got %s %v, want %s [udp]", udp.ServiceID, udp.ServiceTags, want)
	}
	h.waitCatalog("busybox-80", 1, 2*time.Second)
	h.noDuplicates()
}

// A paused container leaves the catalog and comes back when unpaused.
func TestPauseAndUnpause(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{})
	id := h.eng.Run(t, dockertest.Container{Name: "pausable", Env: []string{"SERVICE_NAME=paused"}, Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	h.waitCatalog("paused", 1, 2*time.Second)
	ctx := context.Background()
	if err := h.eng.Client.ContainerPause(ctx, id); err != nil {
		t.Fatal(err)
	}
	h.waitCatalog("paused", 0, 2*time.Second)
	if err := h.eng.Client.ContainerUnpause(ctx, id); err != nil {
		t.Fatal(err)
	}
	h.waitCatalog("paused", 1, 2*time.Second)
}

// With -deregister on-success, a container that exits 0 is deregistered; one
// that fails stays registered until it is removed.
func TestDeregisterOnSuccess(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{Deregister: registrator.DeregisterOnSuccess})
	ok := h.eng.Run(t, dockertest.Container{Name: "ok", Env: []string{"SERVICE_NAME=exits-ok"},
		Publish: map[string]int{"80/tcp": freeport.Port(t)}, Cmd: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"}})
	bad := h.eng.Run(t, dockertest.Container{Name: "bad", Env: []string{"SERVICE_NAME=exits-bad"},
		Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	h.waitCatalog("exits-ok", 1, 2*time.Second)
	h.waitCatalog("exits-bad", 1, 2*time.Second)

	h.eng.Stop(t, ok, 5)  // exits 0 on SIGTERM
	h.eng.Stop(t, bad, 1) // httpd ignores SIGTERM: killed, 137
	h.waitCatalog("exits-ok", 0, 2*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(h.catalog("exits-bad")); n != 1 {
		t.Fatalf("failed container's service: %d instances, want it kept", n)
	}
	h.eng.Remove(t, bad)
	h.waitCatalog("exits-bad", 0, 2*time.Second)
}

// A malformed setting skips that container with a log line naming it and
// the key; other containers keep registering.
func TestBadSettingsAreSkippedAndLogged(t *testing.T) {
	h := newHarness(t)
	r := h.start(registrator.Config{})
	h.eng.Run(t, dockertest.Container{Name: "broken", Env: []string{"SERVICE_NAME=broken", "SERVICE_80x_NAME=oops"},
		Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	h.eng.Run(t, dockertest.Container{Name: "badcheck", Env: []string{"SERVICE_NAME=badcheck", "SERVICE_CHECK_HTTP=/", "SERVICE_CHECK_INTERVAL=often"},
		Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	h.eng.Run(t, dockertest.Container{Name: "fine", Env: []string{"SERVICE_NAME=fine"},
		Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	h.waitCatalog("fine", 1, 2*time.Second)
	h.waitFor("log lines naming the bad containers and keys", 2*time.Second, func() bool {
		log := r.log.String()
		return strings.Contains(log, "container=broken") && strings.Contains(log, "key=SERVICE_80x_NAME") &&
			strings.Contains(log, "container=badcheck") && strings.Contains(log, "key=SERVICE_CHECK_INTERVAL")
	})
	if n := len(h.catalog("broken")) + len(h.catalog("badcheck")); n != 0 {
		t.Errorf("%d services registered for containers with malformed settings", n)
	}
}

// -internal advertises the container's own address; with several networks
// SERVICE_NETWORK picks one, and the choice is logged.
func TestInternalAddressAndServiceNetwork(t *testing.T) {
	h := newHarness(t)
	r := h.start(registrator.Config{Internal: true})
	backSubnet := h.eng.CreateNetwork(t, "back")
	id := h.eng.Create(t, dockertest.Container{Name: "multi", Env: []string{"SERVICE_NAME=multi", "SERVICE_NETWORK=back"},
		Expose: []string{"8080/tcp"}})
	h.eng.Connect(t, "back", id)
	h.eng.Start(t, id)
	h.eng.Run(t, dockertest.Container{Name: "plain", Env: []string{"SERVICE_NAME=plain"}, Expose: []string{"8080/tcp"}})

	got := h.waitCatalog("multi", 1, 2*time.Second)[0]
	if !strings.HasPrefix(got.ServiceAddress, strings.TrimSuffix(backSubnet, "0/24")) || got.ServicePort != 8080 {
		t.Errorf("multi at %s:%d, want an address in %s, port 8080", got.ServiceAddress, got.ServicePort, backSubnet)
	}
	plain := h.waitCatalog("plain", 1, 2*time.Second)[0]
	if !strings.HasPrefix(plain.ServiceAddress, strings.TrimSuffix(h.eng.Subnet, "0/24")) {
		t.Errorf("plain at %s, want an address in %s", plain.ServiceAddress, h.eng.Subnet)
	}
	if log := r.log.String(); !strings.Contains(log, `named by SERVICE_NETWORK`) {
		t.Errorf("the address choice is not logged:\n%s", log)
	}
}

// A --net=host container is registered on the ports it was started with -p
// for, at the node's address (or -ip).
func TestHostNetworkContainer(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{HostIP: "127.0.0.1"})
	port := freeport.Port(t)
	h.eng.Run(t, dockertest.Container{Name: "hostnet", Network: "host", Env: []string{"SERVICE_NAME=hostnet"},
		Publish: map[string]int{portKey(port): port},
		Cmd:     []string{"httpd", "-f", "-p", "127.0.0.1:" + itoa(port), "-h", "/www"}})
	got := h.waitCatalog("hostnet", 1, 2*time.Second)[0]
	if got.ServiceAddress != "127.0.0.1" || got.ServicePort != port {
		t.Errorf("hostnet at %s:%d, want 127.0.0.1:%d", got.ServiceAddress, got.ServicePort, port)
	}
}

// consulkv:// writes <prefix>/<name>/<id> = ip:port and deletes it on stop.
func TestConsulKVRegistry(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{RegistryURI: "consulkv://" + h.agent.HTTPAddr + "/services"})
	port := freeport.Port(t)
	id := h.eng.Run(t, dockertest.Container{Name: "kv1", Env: []string{"SERVICE_NAME=kvweb", "SERVICE_ID=kvweb-1"}, Publish: map[string]int{"80/tcp": port}})
	want := "127.0.0.1:" + itoa(port)
	h.waitFor("key services/kvweb/kvweb-1 = "+want, 2*time.Second, func() bool {
		p, _, err := h.client.KV().Get("services/kvweb/kvweb-1", nil)
		return err == nil && p != nil && string(p.Value) == want
	})
	h.eng.Stop(t, id, 1)
	h.waitFor("key deleted", 2*time.Second, func() bool {
		p, _, err := h.client.KV().Get("services/kvweb/kvweb-1", nil)
		return err == nil && p == nil
	})
}

// A container removed and started again under the same name keeps its
// service ID: the registration ends up pointing at the new container, once.
func TestRecreatedContainerKeepsItsService(t *testing.T) {
	h := newHarness(t)
	h.start(registrator.Config{})
	for i := 0; i < 5; i++ {
		port := freeport.Port(t)
		id := h.eng.Run(t, dockertest.Container{Name: "phoenix", Env: []string{"SERVICE_NAME=phoenix"}, Publish: map[string]int{"80/tcp": port}})
		h.waitFor("phoenix on its new port", 2*time.Second, func() bool {
			got := h.catalog("phoenix")
			return len(got) == 1 && got[0].ServicePort == port && got[0].ServiceMeta[service.MetaContainer] == id
		})
		h.eng.Remove(t, id)
	}
	h.waitCatalog("phoenix", 0, 2*time.Second)
}

func portKey(p int) string { return itoa(p) + "/tcp" }
