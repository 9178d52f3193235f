package mapping

import (
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// AsStarted predicts, from a container's inspect data taken while it was
// only created, what inspecting it right after its start would give Map,
// so the start can be registered without asking Docker again. It reports
// false when the start decides something Map reads and the creation does
// not: a host port Docker picks (-P, a port range, port 0), the
// container's own addresses (-internal, another container's network
// stack), or a Docker health state (a HEALTHCHECK begins "starting").
//
// Docker fixes everything else at creation: the environment and labels,
// the exposed ports, and every host port given explicitly with -p. A
// start that cannot bind such a port fails, and no start event follows.
//
// bindIP is the address Docker binds a port published without one
// (-p 8080:80) on the container's network: the network's
// host_binding_ipv4, which for the default bridge is dockerd's --ip. ""
// means unknown, and such a port is predicted only where -ip decides the
// address anyway.
func AsStarted(created *container.InspectResponse, opt Options, bindIP string) (*container.InspectResponse, bool) {
	if opt.Internal || created == nil || created.ContainerJSONBase == nil || created.Config == nil ||
		created.HostConfig == nil || created.State == nil || created.State.Status != container.StateCreated {
		return nil, false
	}
	if hc := created.Config.Healthcheck; hc != nil && len(hc.Test) > 0 && hc.Test[0] != "NONE" {
		return nil, false
	}
	hostCfg := created.HostConfig
	mode := hostCfg.NetworkMode
	if hostCfg.PublishAllPorts || mode.IsContainer() || mode.IsNone() {
		return nil, false
	}
	ports := nat.PortMap{}
	for p, bindings := range hostCfg.PortBindings {
		var out []nat.PortBinding
		for _, b := range bindings {
			if n, err := strconv.Atoi(b.HostPort); err != nil || n < 1 || n > 65535 {
				return nil, false
			}
			ip := b.HostIP
			if ip == "" && !mode.IsHost() {
				if bindIP == "" && opt.HostIP == "" {
					return nil, false
				}
				ip = bindIP
			}
			out = append(out, nat.PortBinding{HostIP: ip, HostPort: b.HostPort})
		}
		ports[p] = out
	}

	base := *created.ContainerJSONBase
	state := *created.State
	state.Status, state.Running = container.StateRunning, true
	base.State = &state
	started := *created
	started.ContainerJSONBase = &base
	ns := &container.NetworkSettings{}
	if created.NetworkSettings != nil {
		ns.Networks = created.NetworkSettings.Networks
	}
	if !mode.IsHost() {
		ns.Ports = ports
	}
	started.NetworkSettings = ns
	return &started, true
}
