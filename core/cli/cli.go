// Package cli holds beacon's subcommands (agent, kv, catalog, services,
// members, reload, lock, ...) and the dispatch that picks one from the
// command line, including the argv[0] aliases under which the binary stands
// in for consul, consul-template and registrator.
package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// runFunc is the shape of every subcommand: it parses args (the words after
// the subcommand name), writes only to the given writers and returns the
// process exit code.
type runFunc func(args []string, stdout, stderr io.Writer) int

// command is one entry of the dispatch table. A nil run marks a command that
// this build does not include.
type command struct {
	synopsis string
	run      runFunc
}

// commands is the dispatch table. To add a subcommand, add an entry here.
var commands = map[string]command{
	"acl":         {"Interact with beacon's ACLs", aclCommand},
	"agent":       {"Runs a beacon agent", agentCommand},
	"catalog":     {"Interact with the catalog", catalogCommand},
	"kv":          {"Interact with the key-value store", kvCommand},
	"lock":        {"Execute a command holding a lock", lockCommand},
	"login":       {"Login to beacon using an auth method", loginCommand},
	"logout":      {"Destroy a token created with login", logoutCommand},
	"members":     {"Lists the members of a cluster", membersCommand},
	"reload":      {"Triggers the agent to reload configuration files", reloadCommand},
	"services":    {"Interact with services", servicesCommand},
	"version":     {"Prints the beacon version", versionCommand},
	"template":    {"Renders templates from catalog and KV data", templateCommand},
	"registrator": {"Registers Docker containers as services", registratorCommand},
	"maint":       {"Controls node or service maintenance mode", maintCommand},
	"keygen":      {"Generates a new encryption key", keygenCommand},
	"join":        {"Tells an agent to join the cluster", joinCommand},
	"leave":       {"Gracefully leaves the cluster and shuts down", leaveCommand},
	"force-leave": {"Forces a member of the cluster to enter the \"left\" state", forceLeaveCommand},
	"keyring":     {"Manages gossip layer encryption keys", keyringCommand},
	"snapshot":    {"Saves, restores and inspects snapshots of the servers' state", snapshotCommand},
	"operator":    {"Provides cluster-level tools for operators", operatorCommand},
	"info":        {"Provides debugging information for operators", infoCommand},
	"debug":       {"Records a debugging archive for operators", debugCommand},
	"monitor":     {"Streams logs from an agent", monitorCommand},
	"validate":    {"Validates config files and directories", validateCommand},
	"tls":         {"Builds certificates for the agents' TLS", tlsCommand},
	"event":       {"Fires a user event", eventCommand},
	"watch":       {"Watches a view of the catalog, KV store or events for changes", watchCommand},
}

// aliases maps the name the binary was invoked under to the subcommand it
// then runs with all of its arguments; "" means beacon's own dispatch.
var aliases = map[string]string{
	"beacon":          "",
	"consul":          "",
	"consul-template": "template",
	"registrator":     "registrator",
}

// Main runs the command line argv (argv[0] is the program name) and returns
// the exit code.
func Main(argv []string) int {
	return run(argv, os.Stdout, os.Stderr)
}

func run(argv []string, stdout, stderr io.Writer) int {
	prog := "beacon"
	if len(argv) > 0 {
		prog = strings.TrimSuffix(filepath.Base(argv[0]), ".exe")
		argv = argv[1:]
	}
	if prog == "consul" && len(argv) > 0 && (argv[0] == "version" || argv[0] == "-v" || argv[0] == "-version" || argv[0] == "--version") {
		return consulVersionCommand(argv[1:], stdout, stderr)
	}
	if sub := aliases[prog]; sub != "" {
		return dispatch(sub, argv, stdout, stderr)
	}
	if len(argv) == 0 {
		printUsage(stdout)
		return 1
	}
	switch name := argv[0]; name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(argv) > 1 {
			return dispatch(argv[1], []string{"-h"}, stdout, stderr)
		}
		printUsage(stdout)
		return 0
	case "-v", "-version", "--version":
		return versionCommand(nil, stdout, stderr)
	default:
		return dispatch(name, argv[1:], stdout, stderr)
	}
}

// dispatch runs the named subcommand.
func dispatch(name string, args []string, stdout, stderr io.Writer) int {
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "beacon: unknown command %q; run \"beacon -h\" for the list of commands\n", name)
		return 1
	}
	if cmd.run == nil {
		fmt.Fprintf(stderr, "beacon: the %q command is not available in this build\n", name)
		return 1
	}
	return cmd.run(args, stdout, stderr)
}

// printUsage lists the available subcommands.
func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: beacon [--version] [--help] <command> [<args>]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Available commands are:")
	writeCommands(w, commands)
}

// writeCommands lists the commands of cmds that this build includes, sorted
// by name, each indented with its synopsis in an aligned second column.
func writeCommands(w io.Writer, cmds map[string]command) {
	var names []string
	for name, cmd := range cmds {
		if cmd.run != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 0, 4, ' ', 0)
	for _, name := range names {
		fmt.Fprintf(tw, "    %s\t%s\n", name, cmds[name].synopsis)
	}
	tw.Flush()
}
