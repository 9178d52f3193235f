package cli

import (
	"io"

	templatecmd "github.com/beacon-sd/beacon/template/command"
)

// templateCommand is `beacon template`, also run when the binary is
// invoked as consul-template.
func templateCommand(args []string, stdout, stderr io.Writer) int {
	return templatecmd.Run(args, stdout, stderr)
}
