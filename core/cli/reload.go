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
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if err := client.Agent().Reload(); err != nil {
		fmt.Fprintf(stderr, "Error reloading: %s\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Configuration reload triggered")
	return 0
}
