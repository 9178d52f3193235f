package cli

import (
	"fmt"
	"io"
)

// registratorCommand is `beacon registrator`.
func registratorCommand(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "the \"registrator\" command is not available in this build yet")
	return 1
}
