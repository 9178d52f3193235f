package cli

import (
	"fmt"
	"io"

	"github.com/hashicorp/consul/api"
)

// joinCommand is `beacon join [-wan] ADDR...`: the agent joins the cluster
// through each address.
func joinCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("join", "beacon join [options] address ...", `
Tells a running agent to join the cluster by contacting at least one of its
members (host, host:port or IP:port of their LAN gossip port).`, stderr)
	var hf httpFlags
	hf.register(fs)
	wan := fs.Bool("wan", false, "Join a server to another datacenter's servers in the WAN pool.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	addrs := fs.Args()
	if len(addrs) == 0 {
		fmt.Fprintf(stderr, "At least one address to join must be specified.\n\n")
		fs.Usage()
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	joined := 0
	for _, addr := range addrs {
		if err := client.Agent().Join(addr, *wan); err != nil {
			fmt.Fprintf(stderr, "Error joining address '%s': %s\n", addr, err)
			continue
		}
		joined++
	}
	if joined == 0 {
		fmt.Fprintln(stderr, "Failed to join any nodes.")
		return 1
	}
	fmt.Fprintf(stdout, "Successfully joined cluster by contacting %d nodes.\n", joined)
	return 0
}

// leaveCommand is `beacon leave`: the agent leaves the cluster gracefully
// and shuts down.
func leaveCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("leave", "beacon leave [options]", `
Causes the agent to gracefully leave the cluster and shut down. A client agent
first has the servers remove its node and services from the catalog; then every
member is told, and lists it as left, not failed.`, stderr)
	var hf httpFlags
	hf.register(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "Error found unexpected args: %v\n", fs.Args())
		fs.Usage()
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	if err := client.Agent().Leave(); err != nil {
		fmt.Fprintf(stderr, "Error leaving: %s\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Graceful leave complete")
	return 0
}

// forceLeaveCommand is `beacon force-leave [-prune] NODE`.
func forceLeaveCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("force-leave", "beacon force-leave [options] name", `
Forces a member of the cluster to enter the "left" state. A member that is in
fact alive rejoins by itself; this is for clearing out failed nodes that are
never coming back, which the cluster would otherwise try to reconnect to
until reconnect_timeout.`, stderr)
	var hf httpFlags
	hf.register(fs)
	prune := fs.Bool("prune", false, "Also remove the node from the member list at once, not only mark it left.")
	wan := fs.Bool("wan", false, "Act on the WAN pool (not supported: beacon has one pool per datacenter).")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "A single node name must be specified to force leave.\n\n")
		fs.Usage()
		return 1
	}
	if *wan {
		fmt.Fprintln(stderr, "Error force leaving: -wan is not supported: beacon runs one gossip pool per datacenter")
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	if err := client.Agent().ForceLeaveOpts(fs.Arg(0), api.ForceLeaveOpts{Prune: *prune}); err != nil {
		fmt.Fprintf(stderr, "Error force leaving: %s\n", err)
		return 1
	}
	return 0
}
