package mapping

import (
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// TestAsStartedRefuses lists the creations whose start decides something
// Map reads, so the start must be inspected.
func TestAsStartedRefuses(t *testing.T) {
	created := func(edit func(*container.InspectResponse)) *container.InspectResponse {
		info := ctr{publish: map[string]string{"80/tcp": "127.0.0.1:8080"}}.inspect()
		info.State = &container.State{Status: container.StateCreated}
		info.NetworkSettings.Ports = nil
		if edit != nil {
			edit(info)
		}
		return info
	}
	withBinding := func(ip, port string) func(*container.InspectResponse) {
		return func(i *container.InspectResponse) {
			i.HostConfig.PortBindings = nat.PortMap{"80/tcp": {{HostIP: ip, HostPort: port}}}
		}
	}
	cases := []struct {
		name   string
		info   *container.InspectResponse
		opt    Options
		bindIP string
		want   bool
	}{
		{"explicit address and port", created(nil), Options{}, "", true},
		{"no address, the network's known", created(withBinding("", "8080")), Options{}, "127.0.0.1", true},
		{"no address, unknown", created(withBinding("", "8080")), Options{}, "", false},
		{"no address, unknown, -ip decides", created(withBinding("", "8080")), Options{HostIP: "10.0.0.1"}, "", true},
		{"host port left to Docker", created(withBinding("127.0.0.1", "")), Options{}, "", false},
		{"host port 0", created(withBinding("127.0.0.1", "0")), Options{}, "", false},
		{"a range of host ports", created(withBinding("127.0.0.1", "8000-8010")), Options{}, "", false},
		{"-P", created(func(i *container.InspectResponse) { i.HostConfig.PublishAllPorts = true }), Options{}, "", false},
		{"-internal", created(nil), Options{Internal: true}, "", false},
		{"another container's network", created(func(i *container.InspectResponse) { i.HostConfig.NetworkMode = "container:abc" }), Options{}, "", false},
		{"no network", created(func(i *container.InspectResponse) { i.HostConfig.NetworkMode = "none" }), Options{}, "", false},
		{"a HEALTHCHECK", created(func(i *container.InspectResponse) {
			i.Config.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "true"}}
		}), Options{}, "", false},
		{"HEALTHCHECK NONE", created(func(i *container.InspectResponse) {
			i.Config.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
		}), Options{}, "", true},
		{"already ran", created(func(i *container.InspectResponse) { i.State.Status = container.StateExited }), Options{}, "", false},
		{"no state", created(func(i *container.InspectResponse) { i.State = nil }), Options{}, "", false},
		{"nothing", nil, Options{}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			started, ok := AsStarted(c.info, c.opt, c.bindIP)
			if ok != c.want {
				t.Fatalf("AsStarted: %v, want %v", ok, c.want)
			}
			if !ok {
				return
			}
			if !started.State.Running || c.info.State.Running {
				t.Errorf("the prediction must run and leave the creation as it was: %v %v", started.State.Running, c.info.State.Running)
			}
			if got := Map(started, c.opt); len(got.Services) != 1 {
				t.Errorf("the prediction maps to %d services, want 1: %v %v", len(got.Services), got.Problems, got.Notes)
			}
		})
	}
}
