package examples

import (
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/config"
)

// agentConfig runs the words after `beacon agent` through the agent's own
// flag parser and config loader, as the binary does before it starts, with
// the paths in remap (a path the command line names → a local one) replaced
// first.
func agentConfig(t *testing.T, args []string, remap map[string]string) (*config.Config, error) {
	t.Helper()
	args = append([]string(nil), args...)
	for i, a := range args {
		for from, to := range remap {
			a = strings.ReplaceAll(a, from, to)
		}
		args[i] = a
	}
	flags := config.NewFlags("agent", io.Discard)
	flags.FlagSet.Usage = func() {}
	if err := flags.FlagSet.Parse(args); err != nil {
		t.Fatalf("beacon agent %s: %v", strings.Join(args, " "), err)
	}
	if flags.FlagSet.NArg() > 0 {
		t.Fatalf("beacon agent %s: unexpected arguments %q", strings.Join(args, " "), flags.FlagSet.Args())
	}
	return flags.Load()
}

// checkSubcommand checks that a beacon command line other than `agent`
// (leave, reload, ...) names a subcommand of the binary and that its flags
// are accepted: parsing stops with a help request placed after them.
func checkSubcommand(t *testing.T, argv []string) {
	t.Helper()
	if len(argv) == 0 {
		t.Fatal("empty beacon command line")
	}
	out, err := exec.Command(beaconBin, append(argv, "-h")...).CombinedOutput()
	if err != nil {
		t.Errorf("beacon %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}
