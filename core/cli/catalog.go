package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"
)

var catalogCommands = map[string]command{
	"services":    {"Lists all registered services in a datacenter", catalogServicesCommand},
	"nodes":       {"Lists all nodes in the given datacenter", catalogNodesCommand},
	"datacenters": {"Lists all known datacenters", catalogDatacentersCommand},
}

// catalogCommand is `beacon catalog <services|nodes|datacenters>`.
func catalogCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("catalog", catalogCommands, args, stdout, stderr)
}

// catalogServicesCommand is `beacon catalog services [options]`.
func catalogServicesCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("catalog services", "beacon catalog services [options]", `
Lists the services registered in the datacenter, one per line, sorted.`, stderr)
	var hf httpFlags
	hf.register(fs)
	tags := fs.Bool("tags", false, "Show each service's tags in a second column.")
	node := fs.String("node", "", "Only list the services on this node.")
	nodeMeta := keyValueFlag{}
	fs.Var(nodeMeta, "node-meta", "Only services on nodes with this `key=value` metadata; repeatable.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	q := hf.queryOptions()
	if len(nodeMeta) > 0 {
		q.NodeMeta = nodeMeta
	}
	services := map[string][]string{}
	if *node != "" {
		cn, _, err := client.Catalog().Node(*node, q)
		if err != nil {
			fmt.Fprintf(stderr, "Error listing services for node %s: %s\n", *node, err)
			return 1
		}
		if cn != nil {
			for _, s := range cn.Services {
				services[s.Service] = append(services[s.Service], s.Tags...)
			}
		}
	} else {
		var err error
		services, _, err = client.Catalog().Services(q)
		if err != nil {
			fmt.Fprintf(stderr, "Error listing services: %s\n", err)
			return 1
		}
	}
	if len(services) == 0 {
		fmt.Fprintln(stderr, "No services match the given query - try expanding your search.")
		return 0
	}
	writeServices(stdout, services, *tags)
	return 0
}

// writeServices prints service names sorted, with -tags a column of each
// service's distinct tags, sorted and comma-separated.
func writeServices(w io.Writer, services map[string][]string, withTags bool) {
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	if !withTags {
		for _, n := range names {
			fmt.Fprintln(w, n)
		}
		return
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%s\n", n, strings.Join(uniqueSorted(services[n]), ","))
	}
	tw.Flush()
	// A service without tags would end in padding.
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			fmt.Fprintln(w, strings.TrimRight(line, " \n"))
		}
	}
}

func uniqueSorted(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// catalogNodesCommand is `beacon catalog nodes [options]`.
func catalogNodesCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("catalog nodes", "beacon catalog nodes [options]", `
Lists the nodes in the datacenter with their ID, address and datacenter.`, stderr)
	var hf httpFlags
	hf.register(fs)
	service := fs.String("service", "", "Only list nodes running this service.")
	detailed := fs.Bool("detailed", false, "Show full node IDs, tagged addresses and metadata.")
	near := fs.String("near", "", "Sort nodes by round-trip time from this node; \"_agent\" is the queried agent.")
	nodeMeta := keyValueFlag{}
	fs.Var(nodeMeta, "node-meta", "Only nodes with this `key=value` metadata; repeatable.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	q := hf.queryOptions()
	q.Near = *near
	if len(nodeMeta) > 0 {
		q.NodeMeta = nodeMeta
	}
	var nodes []*api.Node
	if *service != "" {
		entries, _, err := client.Catalog().Service(*service, "", q)
		if err != nil {
			fmt.Fprintf(stderr, "Error listing nodes for service %s: %s\n", *service, err)
			return 1
		}
		nodes = nodesOfService(entries)
	} else {
		var err error
		nodes, _, err = client.Catalog().Nodes(q)
		if err != nil {
			fmt.Fprintf(stderr, "Error listing nodes: %s\n", err)
			return 1
		}
	}
	if len(nodes) == 0 {
		fmt.Fprintln(stderr, "No nodes match the given query - try expanding your search.")
		return 0
	}
	if *near == "" {
		sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Node < nodes[j].Node })
	}
	writeNodes(stdout, nodes, *detailed)
	return 0
}

// nodesOfService lists the distinct nodes behind a service's instances.
func nodesOfService(entries []*api.CatalogService) []*api.Node {
	seen := map[string]bool{}
	var nodes []*api.Node
	for _, e := range entries {
		if seen[e.Node] {
			continue
		}
		seen[e.Node] = true
		nodes = append(nodes, &api.Node{
			ID: e.ID, Node: e.Node, Address: e.Address, Datacenter: e.Datacenter,
			TaggedAddresses: e.TaggedAddresses, Meta: e.NodeMeta,
		})
	}
	return nodes
}

// writeNodes prints the nodes table: Node, ID (its first 8 characters unless
// detailed), Address, DC, and when detailed TaggedAddresses and Meta.
func writeNodes(w io.Writer, nodes []*api.Node, detailed bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if detailed {
		fmt.Fprintln(tw, "Node\tID\tAddress\tDC\tTaggedAddresses\tMeta")
	} else {
		fmt.Fprintln(tw, "Node\tID\tAddress\tDC")
	}
	for _, n := range nodes {
		if detailed {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Node, n.ID, n.Address, n.Datacenter,
				joinMap(n.TaggedAddresses), joinMap(n.Meta))
			continue
		}
		id := n.ID
		if len(id) > 8 {
			id = id[:8]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Node, id, n.Address, n.Datacenter)
	}
	tw.Flush()
}

// joinMap renders a map as "k=v, k2=v2" sorted by key.
func joinMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}

// catalogDatacentersCommand is `beacon catalog datacenters`.
func catalogDatacentersCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("catalog datacenters", "beacon catalog datacenters [options]", `
Lists the datacenters the agent knows of, one per line.`, stderr)
	var hf httpFlags
	hf.register(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	dcs, err := client.Catalog().Datacenters()
	if err != nil {
		fmt.Fprintf(stderr, "Error listing datacenters: %s\n", err)
		return 1
	}
	if len(dcs) == 0 {
		fmt.Fprintln(stderr, "No datacenters found")
		return 0
	}
	for _, dc := range dcs {
		fmt.Fprintln(stdout, dc)
	}
	return 0
}
