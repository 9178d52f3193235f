package cli

import (
	"fmt"
	"io"
)

// maintCommand is `beacon maint`.
func maintCommand(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "the \"maint\" command is not available in this build yet")
	return 1
}
