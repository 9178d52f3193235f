package cli

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"
)

// membersCommand is `beacon members [options]`.
func membersCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("members", "beacon members [options]", `
Lists the members of the cluster as the agent's gossip pool sees them.
Exits 2 when no member matches.`, stderr)
	var hf httpFlags
	hf.register(fs)
	detailed := fs.Bool("detailed", false, "Show every member tag instead of the summary columns.")
	status := fs.String("status", ".*", "Only members whose status matches this `regexp` (alive, leaving, left, failed).")
	wan := fs.Bool("wan", false, "List the WAN (cross-datacenter) pool instead of the LAN pool.")
	if code, ok := parseArgs(fs, args, 0); !ok {
		return code
	}
	statusRe, err := regexp.Compile(*status)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to compile -status regexp %q: %s\n", *status, err)
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	members, err := client.Agent().Members(*wan)
	if err != nil {
		fmt.Fprintf(stderr, "Error retrieving members: %s\n", err)
		return 1
	}
	var shown []*api.AgentMember
	for _, m := range members {
		if statusRe.MatchString(memberStatus(m.Status)) {
			shown = append(shown, m)
		}
	}
	if len(shown) == 0 {
		return 2
	}
	sortMembers(shown)
	if *detailed {
		writeMembersDetailed(stdout, shown)
	} else {
		writeMembers(stdout, shown)
	}
	return 0
}

// memberStatus names a serf member status.
func memberStatus(s int) string {
	switch s {
	case 1:
		return "alive"
	case 2:
		return "leaving"
	case 3:
		return "left"
	case 4:
		return "failed"
	case 0:
		return "none"
	}
	return "unknown"
}

func isServer(m *api.AgentMember) bool {
	return m.Tags[api.MemberTagKeyRole] == api.MemberTagValueRoleServer
}

func memberPartition(m *api.AgentMember) string {
	if p := m.Tags[api.MemberTagKeyPartition]; p != "" {
		return p
	}
	return "default"
}

func memberSegment(m *api.AgentMember) string {
	if isServer(m) {
		return "<all>"
	}
	if s := m.Tags[api.MemberTagKeySegment]; s != "" {
		return s
	}
	return "<default>"
}

// sortMembers orders members by partition, servers before clients, then
// segment and name.
func sortMembers(ms []*api.AgentMember) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if pa, pb := memberPartition(a), memberPartition(b); pa != pb {
			return pa < pb
		}
		if sa, sb := isServer(a), isServer(b); sa != sb {
			return sa
		}
		if sa, sb := memberSegment(a), memberSegment(b); sa != sb {
			return sa < sb
		}
		return a.Name < b.Name
	})
}

// writeMembers prints the summary table.
func writeMembers(w io.Writer, ms []*api.AgentMember) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tAddress\tStatus\tType\tBuild\tProtocol\tDC\tPartition\tSegment")
	for _, m := range ms {
		typ := "client"
		if isServer(m) {
			typ = "server"
		}
		build := m.Tags["build"]
		if i := strings.IndexByte(build, ':'); i >= 0 {
			build = build[:i]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			m.Name, memberAddr(m), memberStatus(m.Status), typ, build, m.Tags["vsn"],
			m.Tags[api.MemberTagKeyDatacenter], memberPartition(m), memberSegment(m))
	}
	tw.Flush()
}

// writeMembersDetailed prints each member with all its tags.
func writeMembersDetailed(w io.Writer, ms []*api.AgentMember) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tAddress\tStatus\tTags")
	for _, m := range ms {
		keys := make([]string, 0, len(m.Tags))
		for k := range m.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		tags := make([]string, 0, len(keys))
		for _, k := range keys {
			tags = append(tags, k+"="+m.Tags[k])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, memberAddr(m), memberStatus(m.Status), strings.Join(tags, ","))
	}
	tw.Flush()
}

func memberAddr(m *api.AgentMember) string {
	return net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port)))
}
