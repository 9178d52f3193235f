package cli

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"
)

// infoCommand is `beacon info`: the agent's, raft's and gossip's state in
// `consul info`'s layout, one "section:" line then "\tkey = value" lines.
func infoCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("info", "beacon info [options]", `
Provides debugging information for operators: the agent (agent, build,
runtime), its role (consul: server and leader), the raft peer set (raft, on
servers) and the gossip pool (serf_lan).`, stderr)
	var hf httpFlags
	hf.register(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	self, err := client.Agent().Self()
	if err != nil {
		fmt.Fprintf(stderr, "Error querying agent: %s\n", err)
		return 1
	}
	sections := statsSections(self["Stats"])
	r, err := agentRole(client, self)
	if err != nil {
		fmt.Fprintf(stderr, "Error querying agent: %s\n", err)
		return 1
	}
	r.fill(sections)
	if members, err := client.Agent().Members(false); err == nil {
		fillSerf(sections, members, keyringInUse(client))
	}
	fillBuild(sections, self["Config"])
	writeInfo(stdout, sections)
	return 0
}

// statsSections copies /v1/agent/self's Stats into string sections.
func statsSections(stats map[string]interface{}) map[string]map[string]string {
	out := map[string]map[string]string{}
	for name, v := range stats {
		m, ok := v.(map[string]interface{})
		if !ok {
			continue
		}
		sec := map[string]string{}
		for k, x := range m {
			sec[k] = str(x)
		}
		out[name] = sec
	}
	return out
}

// setDefault sets sections[sec][key] unless the agent reported it.
func setDefault(sections map[string]map[string]string, sec, key, value string) {
	if sections[sec] == nil {
		sections[sec] = map[string]string{}
	}
	if _, ok := sections[sec][key]; !ok {
		sections[sec][key] = value
	}
}

// role is what an agent is in its cluster.
type role struct {
	server, leader bool
	leaderAddr     string                 // the leader's raft address; "" when none is known
	conf           *api.RaftConfiguration // servers only; nil if it could not be read
}

// agentRole works out whether the agent is a server and whether it leads:
// a server leads when its own entry of the raft configuration does.
func agentRole(client *api.Client, self map[string]map[string]interface{}) (role, error) {
	var r role
	r.server, _ = self["Config"]["Server"].(bool)
	if !r.server {
		return r, nil
	}
	leader, err := client.Status().Leader()
	if err != nil {
		return r, err
	}
	r.leaderAddr = leader
	conf, err := client.Operator().RaftGetConfiguration(&api.QueryOptions{AllowStale: true})
	if err != nil {
		return r, nil // no raft view (no leader yet): not the leader
	}
	r.conf = conf
	id, node := str(self["Config"]["NodeID"]), str(self["Config"]["NodeName"])
	for _, s := range conf.Servers {
		if s.ID == id || (id == "" && s.Node == node) {
			r.leader = s.Leader || (leader != "" && s.Address == leader)
		}
	}
	return r, nil
}

// fill writes the role into the consul and raft sections. Server, leader
// and raft state always come from the raft view; other keys only fill
// what the agent did not report.
func (r role) fill(sections map[string]map[string]string) {
	sections["consul"] = orEmpty(sections["consul"])
	sections["consul"]["server"] = strconv.FormatBool(r.server)
	if !r.server {
		if _, ok := sections["consul"]["leader"]; ok {
			sections["consul"]["leader"] = "false"
		}
		return
	}
	sections["consul"]["leader"] = strconv.FormatBool(r.leader)
	sections["consul"]["leader_addr"] = r.leaderAddr
	state := "Follower"
	if r.leader {
		state = "Leader"
	}
	if r.conf == nil {
		setDefault(sections, "raft", "state", state)
		return
	}
	sections["raft"] = orEmpty(sections["raft"])
	sections["raft"]["state"] = state
	var peers []string
	for _, s := range r.conf.Servers {
		suffrage := "Voter"
		if !s.Voter {
			suffrage = "Nonvoter"
		}
		peers = append(peers, fmt.Sprintf("{Suffrage:%s ID:%s Address:%s}", suffrage, s.ID, s.Address))
	}
	setDefault(sections, "raft", "num_peers", strconv.Itoa(max(len(r.conf.Servers)-1, 0)))
	setDefault(sections, "raft", "latest_configuration", "["+strings.Join(peers, " ")+"]")
	setDefault(sections, "raft", "latest_configuration_index", strconv.FormatUint(r.conf.Index, 10))
	setDefault(sections, "raft", "protocol_version", "3")
	setDefault(sections, "raft", "protocol_version_min", "0")
	setDefault(sections, "raft", "protocol_version_max", "3")
	setDefault(sections, "raft", "snapshot_version_min", "0")
	setDefault(sections, "raft", "snapshot_version_max", "1")
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// keyringInUse reports whether gossip is encrypted: the agent lists keys.
func keyringInUse(client *api.Client) bool {
	pools, err := client.Operator().KeyringList(nil)
	if err != nil {
		return false
	}
	for _, p := range pools {
		if len(p.Keys) > 0 {
			return true
		}
	}
	return false
}

// fillSerf summarises the LAN pool, and for clients the servers in it.
func fillSerf(sections map[string]map[string]string, members []*api.AgentMember, encrypted bool) {
	failed, left, servers := 0, 0, 0
	for _, m := range members {
		switch memberStatus(m.Status) {
		case "failed":
			failed++
		case "left":
			left++
		case "alive":
			if isServer(m) {
				servers++
			}
		}
	}
	setDefault(sections, "serf_lan", "members", strconv.Itoa(len(members)))
	setDefault(sections, "serf_lan", "failed", strconv.Itoa(failed))
	setDefault(sections, "serf_lan", "left", strconv.Itoa(left))
	setDefault(sections, "serf_lan", "encrypted", strconv.FormatBool(encrypted))
	setDefault(sections, "serf_lan", "health_score", "0")
	if sections["consul"]["server"] == "false" {
		setDefault(sections, "consul", "known_servers", strconv.Itoa(servers))
	}
}

// fillBuild adds the build keys Consul prints that the agent left out.
func fillBuild(sections map[string]map[string]string, cfg map[string]interface{}) {
	setDefault(sections, "build", "version", str(cfg["Version"]))
	setDefault(sections, "build", "revision", str(cfg["Revision"]))
	setDefault(sections, "build", "prerelease", "")
	setDefault(sections, "build", "version_metadata", "")
}

// writeInfo prints sections and keys in sorted order.
func writeInfo(w io.Writer, sections map[string]map[string]string) {
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s:\n", n)
		keys := make([]string, 0, len(sections[n]))
		for k := range sections[n] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "\t%s = %s\n", k, sections[n][k])
		}
	}
}
