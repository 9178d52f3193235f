// Package examples tests the deployment examples under examples/: the
// README walk-throughs are run as written, config files go through the
// agent's own config loader and `beacon validate`, and the command lines of
// systemd units, Kubernetes manifests and the Dockerfile go through the
// agent's flag parser.
package examples

import (
	"flag"
	"fmt"
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
	dir, err := os.MkdirTemp("", "beacon-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if beaconBin, err = beaconbin.Build(dir, false); err != nil {
		fmt.Fprintln(os.Stderr, "building beacon:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
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
