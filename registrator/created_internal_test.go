package registrator

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
	"github.com/beacon-sd/beacon/registrator/dockertest"
	"github.com/beacon-sd/beacon/registrator/mapping"
)

// TestStartPredictedFromCreate checks mapping.AsStarted, given the address
// the registrator finds for ports published without one, against a real
// engine (its dockerd runs with --ip=127.0.0.1): for each way of running a
// container, the services mapped from the prediction made at creation
// equal those mapped from inspecting the started container, or the
// prediction is refused where the start decides something the creation
// does not.
func TestStartPredictedFromCreate(t *testing.T) {
	eng := dockertest.Start(t)
	netName := "predict-net"
	eng.CreateNetwork(t, netName)
	eng.CreateNetwork(t, "predict-internal", func(o *network.CreateOptions) { o.Internal = true })
	r, err := New(Config{DockerHost: eng.Host, RegistryURI: "consul://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.docker.Close()
	bind := func(ip string, port int) []nat.PortBinding {
		return []nat.PortBinding{{HostIP: ip, HostPort: strconv.Itoa(port)}}
	}
	ports := freeport.Ports(t, 11)
	env := []string{"SERVICE_NAME=web", "SERVICE_TAGS=a,b", "SERVICE_REGION=eu"}
	cases := []struct {
		name     string
		opts     mapping.Options
		hc       container.HostConfig
		exposed  []string
		health   *container.HealthConfig
		predicts bool
		// noService: the started container offers nothing to register.
		noService bool
	}{
		{name: "published on loopback", predicts: true,
			hc: container.HostConfig{PortBindings: nat.PortMap{"80/tcp": bind("127.0.0.1", ports[0])}}},
		{name: "published without an address, tcp and udp, one port only exposed", predicts: true,
			exposed: []string{"9000/tcp"},
			hc: container.HostConfig{PortBindings: nat.PortMap{
				"80/tcp": bind("", ports[1]), "53/udp": bind("0.0.0.0", ports[2])}}},
		{name: "published without an address on a user-defined network", predicts: true,
			hc: container.HostConfig{NetworkMode: container.NetworkMode(netName),
				PortBindings: nat.PortMap{"80/tcp": bind("", ports[8])}}},
		{name: "published without an address, with -ip", predicts: true, opts: mapping.Options{HostIP: "10.1.2.3"},
			hc: container.HostConfig{PortBindings: nat.PortMap{"80/tcp": bind("", ports[9])}}},
		{name: "with -ip", predicts: true, opts: mapping.Options{HostIP: "10.1.2.3"},
			hc: container.HostConfig{PortBindings: nat.PortMap{"80/tcp": bind("127.0.0.1", ports[3])}}},
		{name: "user-defined network", predicts: true,
			hc: container.HostConfig{NetworkMode: container.NetworkMode(netName),
				PortBindings: nat.PortMap{"80/tcp": bind("127.0.0.1", ports[4])}}},
		{name: "host network", predicts: true,
			hc: container.HostConfig{NetworkMode: "host", PortBindings: nat.PortMap{"80/tcp": bind("", ports[5])}}},
		{name: "-P picks the host ports",
			exposed: []string{"80/tcp"}, hc: container.HostConfig{PublishAllPorts: true}},
		{name: "a host port left to Docker",
			hc: container.HostConfig{PortBindings: nat.PortMap{"80/tcp": bind("127.0.0.1", 0)}}},
		{name: "-internal advertises the container's address", opts: mapping.Options{Internal: true},
			hc: container.HostConfig{PortBindings: nat.PortMap{"80/tcp": bind("127.0.0.1", ports[6])}}},
		{name: "an internal network publishes nothing", noService: true,
			hc: container.HostConfig{NetworkMode: "predict-internal",
				PortBindings: nat.PortMap{"80/tcp": bind("127.0.0.1", ports[10])}}},
		{name: "a HEALTHCHECK starts out starting",
			health: &container.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second},
			hc:     container.HostConfig{PortBindings: nat.PortMap{"80/tcp": bind("127.0.0.1", ports[7])}}},
	}
	ctx := context.Background()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Hostname = "host1"
			cfg := &container.Config{Image: dockertest.Image, Cmd: dockertest.WebServer, Env: env,
				Labels: map[string]string{"SERVICE_80_CHECK_TCP": "true"}, ExposedPorts: nat.PortSet{}, Healthcheck: c.health}
			for p := range c.hc.PortBindings {
				cfg.ExposedPorts[p] = struct{}{}
			}
			for _, p := range c.exposed {
				cfg.ExposedPorts[nat.Port(p)] = struct{}{}
			}
			hc := c.hc
			resp, err := eng.Client.ContainerCreate(ctx, cfg, &hc, &network.NetworkingConfig{}, nil, "predict-"+strconv.Itoa(i))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { eng.Remove(t, resp.ID) })
			created, err := eng.Client.ContainerInspect(ctx, resp.ID)
			if err != nil {
				t.Fatal(err)
			}
			bindIP, publishes := r.publishing(ctx, &created)
			predicted, ok := mapping.AsStarted(&created, c.opts, bindIP)
			ok = ok && publishes
			if ok != c.predicts {
				t.Fatalf("AsStarted predicted: %v, want %v", ok, c.predicts)
			}
			eng.Start(t, resp.ID)
			started, err := eng.Client.ContainerInspect(ctx, resp.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := mapping.Map(&started, c.opts)
			if c.noService {
				if len(want.Services) != 0 {
					t.Fatalf("the started container maps to %d services, want none", len(want.Services))
				}
				return
			}
			if len(want.Services) == 0 {
				t.Fatalf("the started container maps to no service: %v %v", want.Problems, want.Notes)
			}
			if !ok {
				return
			}
			if got := mapping.Map(predicted, c.opts); !reflect.DeepEqual(got, want) {
				t.Errorf("predicted at creation:\n%s\nfrom the started container:\n%s", describeResult(got), describeResult(want))
			}
		})
	}
}

func describeResult(r mapping.Result) string {
	var b strings.Builder
	for _, s := range r.Services {
		b.WriteString("  " + s.ID + " " + s.Name + " " + s.IP + ":" + strconv.Itoa(s.Port) + " " + strings.Join(s.Tags, ",") + " health=" + s.DockerHealth + "\n")
	}
	for _, n := range r.Notes {
		b.WriteString("  note: " + n + "\n")
	}
	for _, p := range r.Problems {
		b.WriteString("  problem: " + p.String() + "\n")
	}
	return b.String()
}
