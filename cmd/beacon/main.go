// Command beacon is the single binary: agent, CLI, template renderer and
// Docker registrator. Invoked through a link named consul, consul-template
// or registrator it behaves as that command.
package main

import (
	"os"

	"github.com/beacon-sd/beacon/core/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
