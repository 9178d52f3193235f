// Package examples tests the deployment examples under examples/: the
// README walk-throughs are run as written, config files go through the
// agent's own config loader and `beacon validate`, and the command lines of
// systemd units, Kubernetes manifests and the Dockerfile go through the
// agent's flag parser.
package examples

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/beacon-sd/beacon/internal/beaconbin"
)

// beaconBin is the beacon binary built from this checkout.
var beaconBin string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(beaconbin.RunTests(m, &beaconBin, false))
}

// repoRoot is the checkout this package sits in.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}

// example is the path of a file under examples/.
func example(parts ...string) string {
	return filepath.Join(append([]string{repoRoot(), "examples"}, parts...)...)
}

// beacon runs the built binary and returns its combined output.
func beacon(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(beaconBin, args...).CombinedOutput()
	return string(out), err
}
