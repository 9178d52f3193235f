package cli

import (
	"fmt"
	"io"
)

// agentCommand runs the agent: `beacon agent [flags]`.
func agentCommand(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "agent: not built yet")
	return 1
}
