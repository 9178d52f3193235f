package daemon

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/version"
)

// Gossip protocol versions reported in member tags, as Consul reports them.
const (
	protocolMin = 1
	protocolMax = 5
	protocolCur = 2
)

// members lists the gossip pool; a -dev agent knows only itself. There is
// no WAN pool yet: servers list themselves there, clients nothing.
func (d *Daemon) members(wan bool) []api.AgentMember {
	if wan {
		if !d.Config().Server {
			return []api.AgentMember{}
		}
		return []api.AgentMember{d.selfMember(true)}
	}
	if d.Gossip == nil {
		return []api.AgentMember{d.selfMember(false)}
	}
	var out []api.AgentMember
	for _, m := range d.Gossip.Members() {
		out = append(out, api.AgentMember{
			Name: m.Name, Addr: m.Addr, Port: m.Port, Tags: m.Tags, Status: int(m.Status),
			ProtocolMin: protocolMin, ProtocolMax: protocolMax, ProtocolCur: protocolCur,
			DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
		})
	}
	return out
}

func (d *Daemon) selfMember(wan bool) api.AgentMember {
	cfg := d.Config()
	port := cfg.Ports.SerfLAN
	if d.Gossip != nil {
		_, port = d.Gossip.LocalAddr()
	}
	name := d.node.Node
	if wan {
		port = cfg.Ports.SerfWAN
		name = d.node.Node + "." + cfg.Datacenter
	}
	tags := d.gossipTags()
	tags["ft_fs"], tags["ft_si"], tags["beacon"] = "1", "1", version.Version
	if cfg.Server {
		tags["expect"] = strconv.Itoa(cfg.BootstrapExpect)
		tags["wan_join_port"] = strconv.Itoa(cfg.Ports.SerfWAN)
	}
	return api.AgentMember{
		Name: name, Addr: d.node.Address, Port: uint16(port), Tags: tags, Status: 1, // alive
		ProtocolMin: protocolMin, ProtocolMax: protocolMax, ProtocolCur: protocolCur,
		DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
}

// self is the body of /v1/agent/self.
func (d *Daemon) self() map[string]interface{} {
	cfg := d.Config()
	primary := cfg.PrimaryDatacenter
	if primary == "" {
		primary = cfg.Datacenter
	}
	stats := map[string]interface{}{
		"agent": map[string]string{
			"check_monitors": "0", "services": strconv.Itoa(len(d.Agent.Services())),
			"checks": strconv.Itoa(len(d.Agent.Checks())),
		},
		"runtime": map[string]string{
			"arch": runtime.GOARCH, "os": runtime.GOOS, "version": runtime.Version(),
			"goroutines": strconv.Itoa(runtime.NumGoroutine()), "cpu_count": strconv.Itoa(runtime.NumCPU()),
			"gc_percent": gcPercent(),
		},
		"build": map[string]string{"version": version.ConsulCompat, "beacon": version.Version},
		"consul": map[string]string{
			"server": strconv.FormatBool(cfg.Server), "leader": strconv.FormatBool(d.Server != nil && d.Server.IsLeader()),
			"known_datacenters": "1", "uptime": time.Since(d.started).Truncate(time.Second).String(),
			"acl": aclState(cfg.ACL.Enabled),
		},
	}
	if d.Server != nil {
		if rs := d.Server.RaftStats(); rs != nil {
			stats["raft"] = rs
		}
	}
	return map[string]interface{}{
		"Config": map[string]interface{}{
			"Datacenter": cfg.Datacenter, "PrimaryDatacenter": primary,
			"NodeName": d.node.Node, "NodeID": d.node.ID, "Server": cfg.Server,
			"Revision": "beacon", "Version": version.ConsulCompat, "BuildDate": "",
			"BeaconVersion": version.Version,
		},
		"DebugConfig": map[string]interface{}{
			"Datacenter": cfg.Datacenter, "NodeName": d.node.Node, "NodeID": d.node.ID,
			"ServerMode": cfg.Server, "DevMode": cfg.DevMode, "DataDir": cfg.DataDir,
			"ClientAddrs": cfg.ClientAddr, "BindAddr": cfg.BindAddr,
			"AdvertiseAddrLAN": d.node.Address, "DNSDomain": cfg.Domain,
			"HTTPPort": cfg.Ports.HTTP, "HTTPSPort": cfg.Ports.HTTPS, "DNSPort": cfg.Ports.DNS, "ServerPort": cfg.Ports.Server,
			"SerfPortLAN": cfg.Ports.SerfLAN, "SerfPortWAN": cfg.Ports.SerfWAN,
			"RPCAdvertiseAddr":   "tcp://" + d.node.Address + ":" + strconv.Itoa(cfg.Ports.Server),
			"EnableScriptChecks": cfg.EnableScriptChecks, "EnableLocalScriptChecks": cfg.EnableLocalScriptChecks,
			"HTTPMaxConnsPerClient": cfg.Limits.HTTPMaxConnsPerClient,
			"EnableDebug":           cfg.EnableDebug, "ACLsEnabled": cfg.ACL.Enabled,
		},
		"Coord":  nil,
		"Member": d.selfMember(false),
		"Stats":  stats,
		"Meta":   d.node.Meta,
		"xDS":    nil,
	}
}

// gcPercent is the garbage collector's target, as GOGC or the agent set it.
func gcPercent() string {
	sample := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return ""
	}
	return strconv.FormatUint(sample[0].Value.Uint64(), 10)
}

// aclState is how `consul info` shows whether the agent enforces ACLs.
func aclState(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}
