package cli

import (
	"fmt"
	"io"
)

// reloadCommand is `beacon reload`: the agent rereads its configuration files.
func reloadCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("reload", "beacon reload [options]", `
Asks the agent to reload its configuration files, as SIGHUP does.`, stderr)
	var hf httpFlags
	hf.register(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "Too many arguments (expected 0, got %d)\n", fs.NArg())
		return 1
	}
	client, err := hf.client()
	if err != nil {
		fmt.Fprintf(stderr, "Error connecting to agent: %s\n", err)
		return 1
	}
	if err := client.Agent().Reload(); err != nil {
		fmt.Fprintf(stderr, "Error reloading: %s\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Configuration reload triggered")
	return 0
}
