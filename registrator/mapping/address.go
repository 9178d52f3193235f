package mapping

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// containerIP picks the container's own address for -internal. want is the
// SERVICE_NETWORK setting ("" when not set). It returns the address and a
// sentence saying why it was picked, or an error when there is none.
func containerIP(info *container.InspectResponse, want entry) (ip, why string, err error) {
	nets := map[string]string{} // network name → IPv4 (else IPv6) address
	if info.NetworkSettings != nil {
		for name, ep := range info.NetworkSettings.Networks {
			if ep == nil {
				continue
			}
			switch {
			case ep.IPAddress != "":
				nets[name] = ep.IPAddress
			case ep.GlobalIPv6Address != "":
				nets[name] = ep.GlobalIPv6Address
			}
		}
	}
	names := make([]string, 0, len(nets))
	for n := range nets {
		names = append(names, n)
	}
	sort.Strings(names)

	if w := strings.TrimSpace(want.value); w != "" {
		if ip, ok := nets[w]; ok {
			return ip, fmt.Sprintf("%s on network %q named by %s", ip, w, want.key), nil
		}
		return "", "", fmt.Errorf("%s names network %q, but the container has an address only on %s",
			want.key, w, listOrNone(names))
	}
	switch len(names) {
	case 0:
		return "", "", fmt.Errorf("the container has no address on any network")
	case 1:
		return nets[names[0]], fmt.Sprintf("%s on network %q, its only network", nets[names[0]], names[0]), nil
	}
	// Several networks: the one it was started on (--network) first, then
	// Docker's default bridge, then the first by name.
	primary := ""
	if info.HostConfig != nil {
		primary = string(info.HostConfig.NetworkMode)
		if primary == "default" {
			primary = "bridge"
		}
	}
	for _, cand := range []string{primary, "bridge", names[0]} {
		if ip, ok := nets[cand]; ok {
			reason := "the first by name"
			switch cand {
			case primary:
				reason = "the network it was started on"
			case "bridge":
				reason = "Docker's default bridge"
			}
			return ip, fmt.Sprintf("%s on network %q, %s, of %s (set SERVICE_NETWORK to choose another)",
				ip, cand, reason, strings.Join(names, ", ")), nil
		}
	}
	return "", "", fmt.Errorf("the container has no address on any network") // unreachable
}

// ipFromLabel reads the address stored in a label (-useIpFromLabel); a
// CIDR suffix ("10.0.0.5/24") is dropped. found is false when the container
// has no such label; err is set when the label holds no IP address.
func ipFromLabel(info *container.InspectResponse, label string) (ip string, found bool, err error) {
	var v string
	if info.Config != nil {
		v = strings.TrimSpace(info.Config.Labels[label])
	}
	if v == "" {
		return "", false, nil
	}
	if i := strings.LastIndexByte(v, '/'); i >= 0 {
		v = v[:i]
	}
	if net.ParseIP(v) == nil {
		return "", true, fmt.Errorf("%q is not an IP address", info.Config.Labels[label])
	}
	return v, true, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "no network"
	}
	return strings.Join(names, ", ")
}
