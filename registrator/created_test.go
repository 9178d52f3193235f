package registrator_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/registrator"
	"github.com/beacon-sd/beacon/registrator/dockertest"
)

// TestStartRegisteredFromCreate runs containers through the registrator:
// a plain `docker run` is registered from what its creation showed, and a
// container renamed between creation and start is registered under its
// new name, read from Docker.
func TestStartRegisteredFromCreate(t *testing.T) {
	h := newHarness(t)
	t.Setenv("BEACON_TEST_LOG", "1") // the shortcut is logged at debug level
	run := h.start(registrator.Config{})

	port := freeport.Port(t)
	id := h.eng.Create(t, dockertest.Container{Name: "quick", Publish: map[string]int{"80/tcp": port},
		Env: []string{"SERVICE_NAME=quick", "SERVICE_TAGS=calico"}})
	// Docker answers an inspect only once a start under way is done;
	// start once the creation was read, as `docker run` mostly does.
	created := func(id string) {
		h.waitFor("the creation to be read", 5*time.Second, func() bool {
			return strings.Contains(run.log.String(), "its start needs no inspect: container="+id[:12])
		})
	}
	created(id)
	h.eng.Start(t, id)
	got := h.waitCatalog("quick", 1, 10*time.Second)
	if s := got[0]; s.ServicePort != port || s.ServiceAddress != "127.0.0.1" || !reflect.DeepEqual(s.ServiceTags, []string{"calico"}) {
		t.Errorf("registered %s at %s:%d tags %v, want 127.0.0.1:%d [calico]", s.ServiceID, s.ServiceAddress, s.ServicePort, s.ServiceTags, port)
	}
	shortcut := "registering the start from the container's creation"
	if n := strings.Count(run.log.String(), shortcut); n != 1 {
		t.Errorf("%d starts registered from the creation, want 1 (container %s)", n, id[:12])
	}

	port2 := freeport.Port(t)
	id2 := h.eng.Create(t, dockertest.Container{Name: "before", Publish: map[string]int{"80/tcp": port2}})
	created(id2)
	if err := h.eng.Client.ContainerRename(context.Background(), id2, "after"); err != nil {
		t.Fatal(err)
	}
	h.eng.Start(t, id2)
	h.waitCatalog("busybox", 1, 10*time.Second)
	want := h.host + ":after:80"
	if _, ok := h.owned()[want]; !ok {
		t.Errorf("the renamed container is not registered as %s: %v", want, h.owned())
	}
	if n := strings.Count(run.log.String(), shortcut); n != 1 {
		t.Errorf("%d starts registered from the creation, want 1: the renamed one must be inspected", n)
	}

	// Moved to a network that binds elsewhere between creation and start:
	// registered where Docker bound the port.
	h.eng.CreateNetwork(t, "elsewhere", func(o *network.CreateOptions) {
		o.Options = map[string]string{"com.docker.network.bridge.host_binding_ipv4": "127.0.0.5"}
	})
	port3 := freeport.Port(t)
	resp, err := h.eng.Client.ContainerCreate(context.Background(),
		&container.Config{Image: dockertest.Image, Cmd: dockertest.WebServer, Env: []string{"SERVICE_NAME=moved"},
			ExposedPorts: nat.PortSet{"80/tcp": {}}},
		&container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostPort: strconv.Itoa(port3)}}}},
		&network.NetworkingConfig{}, nil, "moved")
	if err != nil {
		t.Fatal(err)
	}
	created(resp.ID)
	if err := h.eng.Client.NetworkDisconnect(context.Background(), "bridge", resp.ID, false); err != nil {
		t.Fatal(err)
	}
	h.eng.Connect(t, "elsewhere", resp.ID)
	h.eng.Start(t, resp.ID)
	moved := h.waitCatalog("moved", 1, 10*time.Second)
	if s := moved[0]; s.ServiceAddress != "127.0.0.5" || s.ServicePort != port3 {
		t.Errorf("the moved container is registered at %s:%d, want 127.0.0.5:%d", s.ServiceAddress, s.ServicePort, port3)
	}
	if n := strings.Count(run.log.String(), shortcut); n != 1 {
		t.Errorf("%d starts registered from the creation, want 1: the moved one must be inspected", n)
	}
}
