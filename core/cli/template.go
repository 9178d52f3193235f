package cli

import (
	"fmt"
	"io"
)

// templateCommand is `beacon template`.
func templateCommand(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "the \"template\" command is not available in this build yet")
	return 1
}
