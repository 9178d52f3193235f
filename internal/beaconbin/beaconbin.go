// Package beaconbin builds the beacon binary of this checkout for tests
// that run it as a separate process.
package beaconbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Build compiles cmd/beacon into dir/beacon, with the race detector when
// race is set, and returns its path. The error carries the compiler's
// output.
func Build(dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "beacon")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "github.com/beacon-sd/beacon/cmd/beacon")
	if out, err := exec.Command(goTool(), args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// goTool finds the go command, also where PATH lacks it.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// RunTests is a test package's TestMain body: it builds the binary into a
// temporary directory, sets *bin to its path, runs the tests and returns
// their exit code, having removed the directory. With BEACON_TEST_BINARY
// set, the tests run that binary instead (an older build, to see a test
// fail without a fix).
func RunTests(m *testing.M, bin *string, race bool) int {
	if given := os.Getenv("BEACON_TEST_BINARY"); given != "" {
		if _, err := os.Stat(given); err != nil {
			fmt.Fprintln(os.Stderr, "BEACON_TEST_BINARY:", err)
			return 1
		}
		*bin = given
		fmt.Fprintln(os.Stderr, "testing the binary BEACON_TEST_BINARY names:", given)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "beacon-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir, race); err != nil {
		fmt.Fprintln(os.Stderr, "building beacon:", err)
		return 1
	}
	return m.Run()
}
