package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"
)

// maintCommand is `beacon maint`: turns node or service maintenance mode on
// or off, or without -enable/-disable lists what is in maintenance.
func maintCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("maint", "beacon maint [options]", `
Places the node or a service into maintenance mode: a critical check that
takes the node's (or the service's) instances out of ?passing answers and DNS,
and survives an agent restart. Without -enable or -disable, lists what is in
maintenance on the agent.`, stderr)
	var hf httpFlags
	hf.register(fs)
	enable := fs.Bool("enable", false, "Enable maintenance mode.")
	disable := fs.Bool("disable", false, "Disable maintenance mode.")
	reason := fs.String("reason", "", "A reason to show with the maintenance check (with -enable).")
	service := fs.String("service", "", "The ID of a service to put in maintenance instead of the node.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if *enable && *disable {
		fmt.Fprintln(stderr, "Only one of -enable or -disable may be provided")
		return 1
	}
	if !*enable && *reason != "" {
		fmt.Fprintln(stderr, "Reason may only be provided with -enable")
		return 1
	}
	if !*enable && !*disable && *service != "" {
		fmt.Fprintln(stderr, "Service requires either -enable or -disable")
		return 1
	}
	ag := client.Agent()
	switch {
	case *enable && *service != "":
		if err := ag.EnableServiceMaintenance(*service, *reason); err != nil {
			fmt.Fprintf(stderr, "Error enabling service maintenance: %s\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Service entered maintenance mode: %s\n", *service)
	case *enable:
		if err := ag.EnableNodeMaintenance(*reason); err != nil {
			fmt.Fprintf(stderr, "Error enabling node maintenance: %s\n", err)
			return 1
		}
		fmt.Fprintln(stdout, "Node entered maintenance mode")
	case *disable && *service != "":
		if err := ag.DisableServiceMaintenance(*service); err != nil {
			fmt.Fprintf(stderr, "Error disabling service maintenance: %s\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Service left maintenance mode: %s\n", *service)
	case *disable:
		if err := ag.DisableNodeMaintenance(); err != nil {
			fmt.Fprintf(stderr, "Error disabling node maintenance: %s\n", err)
			return 1
		}
		fmt.Fprintln(stdout, "Node left maintenance mode")
	default:
		return listMaintenance(client.Agent(), stdout, stderr)
	}
	return 0
}

// listMaintenance prints the node's and services' maintenance checks,
// the node first, then services by ID.
func listMaintenance(ag *api.Agent, stdout, stderr io.Writer) int {
	checks, err := ag.Checks()
	if err != nil {
		fmt.Fprintf(stderr, "Error reading checks: %s\n", err)
		return 1
	}
	if c, ok := checks["_node_maintenance"]; ok {
		name, _ := ag.NodeName()
		fmt.Fprintf(stdout, "Node:\n  Name:   %s\n  Reason: %s\n\n", name, c.Notes)
	}
	var ids []string
	for id := range checks {
		if strings.HasPrefix(id, "_service_maintenance:") {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(stdout, "Service:\n  ID:     %s\n  Reason: %s\n\n", checks[id].ServiceID, checks[id].Notes)
	}
	return 0
}
