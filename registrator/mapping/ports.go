package mapping

import (
	"net"
	"sort"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// port is one port a container offers: the port inside the container and,
// when published, where the host listens for it.
type port struct {
	exposed  string // "80"
	proto    string // "tcp" or "udp"
	hostIP   string // "" when published on all of the host's addresses
	hostPort string // "" when not published
}

// isHostNetwork reports whether the container shares the host's network
// stack (--net=host).
func isHostNetwork(info *container.InspectResponse) bool {
	return info.HostConfig != nil && info.HostConfig.NetworkMode.IsHost()
}

// containerPorts lists the ports of a container, sorted by number and
// protocol. Exposed ports come from the image and --expose; published ones
// from -p. A container on the host network cannot publish: the ports it
// was started with -p for count as published on the same port of the host,
// as Registrator does.
func containerPorts(info *container.InspectResponse) []port {
	byKey := map[nat.Port]port{}
	addExposed := func(p nat.Port) {
		if _, ok := byKey[p]; !ok {
			byKey[p] = port{exposed: p.Port(), proto: p.Proto()}
		}
	}
	if info.Config != nil {
		for p := range info.Config.ExposedPorts {
			addExposed(p)
		}
	}
	if isHostNetwork(info) {
		for p := range info.HostConfig.PortBindings {
			byKey[p] = port{exposed: p.Port(), proto: p.Proto(), hostPort: p.Port()}
		}
	} else if info.NetworkSettings != nil {
		for p, bindings := range info.NetworkSettings.Ports {
			addExposed(p)
			if b, ok := pickBinding(bindings); ok {
				byKey[p] = port{exposed: p.Port(), proto: p.Proto(), hostIP: anyAddr(b.HostIP), hostPort: b.HostPort}
			}
		}
	}
	out := make([]port, 0, len(byKey))
	for _, p := range byKey {
		if _, err := strconv.Atoi(p.exposed); err != nil {
			continue // a port range that Docker did not expand
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].exposed)
		b, _ := strconv.Atoi(out[j].exposed)
		if a != b {
			return a < b
		}
		return out[i].proto < out[j].proto
	})
	return out
}

// pickBinding chooses one host binding of a published port: Docker lists
// one per address family (0.0.0.0 and ::) for the same host port, and an
// IPv4 binding is the one clients of a registry expect.
func pickBinding(bindings []nat.PortBinding) (nat.PortBinding, bool) {
	var first *nat.PortBinding
	for i := range bindings {
		b := &bindings[i]
		if b.HostPort == "" {
			continue
		}
		if ip := net.ParseIP(b.HostIP); b.HostIP == "" || (ip != nil && ip.To4() != nil) {
			return *b, true
		}
		if first == nil {
			first = b
		}
	}
	if first == nil {
		return nat.PortBinding{}, false
	}
	return *first, true
}

// anyAddr turns the wildcard addresses into "": a port published on every
// address is reached at the node's own address.
func anyAddr(ip string) string {
	switch ip {
	case "", "0.0.0.0", "::":
		return ""
	}
	return ip
}
