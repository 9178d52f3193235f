package examples

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/internal/lines"
	"github.com/beacon-sd/beacon/registrator/dockertest"
)

// The example READMEs are followed literally: every fenced block whose info
// string is "sh" runs, in order, in one bash (-e, -u, pipefail) started in
// the repository root. A README keeps its files under $DEMO and reads its
// ports from variables with defaults (${HTTP_PORT:-8500}); here DEMO is a
// temporary directory and every such port variable a free port. A block
// tagged "sh needs:a,b" runs only when each need is met: "template" is
// `beacon template` in the built binary, "docker" a Docker engine (a
// private one that the test starts, with DOCKER_HOST pointing at it), any
// other name a program on PATH; otherwise it is skipped and the test log
// says so. Processes a README leaves running are killed with its shell's
// process group.

// block is one fenced code block of a README.
type block struct {
	line  int    // line of the opening fence
	info  string // the info string: "sh", "sh needs:template", "console", ...
	lines []string
}

// readBlocks returns the fenced code blocks of a markdown file.
func readBlocks(path string) ([]block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []block
	var cur *block
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if strings.HasPrefix(text, "```") {
			if cur == nil {
				cur = &block{line: n, info: strings.TrimSpace(strings.TrimPrefix(text, "```"))}
			} else {
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			cur.lines = append(cur.lines, text)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: code block never closed", path, cur.line)
	}
	return out, sc.Err()
}

var portVar = regexp.MustCompile(`\$\{([A-Z0-9_]*PORT):-[0-9]+\}`)

// needs lists what the runnable blocks of a README need, each once.
func needs(blocks []block) map[string]bool {
	out := map[string]bool{}
	for _, bl := range blocks {
		fields := strings.Fields(bl.info)
		if len(fields) == 0 || fields[0] != "sh" {
			continue
		}
		for _, f := range fields[1:] {
			if list, ok := strings.CutPrefix(f, "needs:"); ok {
				for _, n := range strings.Split(list, ",") {
					out[n] = true
				}
			}
		}
	}
	return out
}

// unmet returns what a block needs that is missing here; ok is false for
// blocks that are not to be run at all. provided holds the needs the test
// settled itself (true: met).
func unmet(info string, provided map[string]bool) (missing []string, ok bool) {
	fields := strings.Fields(info)
	if len(fields) == 0 || fields[0] != "sh" {
		return nil, false
	}
	for _, f := range fields[1:] {
		needs, found := strings.CutPrefix(f, "needs:")
		if !found {
			continue
		}
		for _, n := range strings.Split(needs, ",") {
			if met, settled := provided[n]; settled && !met || !settled && !have(n) {
				missing = append(missing, n)
			}
		}
	}
	return missing, true
}

// have reports whether one need of a block is met.
func have(need string) bool {
	if need == "template" {
		return exec.Command(beaconBin, "template", "-h").Run() == nil
	}
	_, err := exec.LookPath(need)
	return err == nil
}

// script joins the runnable blocks of a README into one bash script, and
// lists the port variables it reads and the blocks it leaves out.
func script(path string, blocks []block, provided map[string]bool) (src string, ports, skipped []string, ran int) {
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	portSet := map[string]bool{}
	for _, bl := range blocks {
		missing, ok := unmet(bl.info, provided)
		if !ok {
			continue
		}
		if len(missing) > 0 {
			skipped = append(skipped, fmt.Sprintf("%s:%d: needs %s", path, bl.line, strings.Join(missing, ", ")))
			continue
		}
		ran++
		fmt.Fprintf(&b, "echo '+++ README block at line %d' >&2\n", bl.line)
		for _, l := range bl.lines {
			b.WriteString(l + "\n")
			for _, m := range portVar.FindAllStringSubmatch(l, -1) {
				portSet[m[1]] = true
			}
		}
	}
	for n := range portSet {
		ports = append(ports, n)
	}
	sort.Strings(ports)
	return b.String(), ports, skipped, ran
}

func TestREADMEsAreFollowed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the example walk-throughs; skipped with -short")
	}
	readmes, err := filepath.Glob(example("*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, readme := range readmes {
		name := filepath.Base(filepath.Dir(readme))
		t.Run(name, func(t *testing.T) {
			blocks, err := readBlocks(readme)
			if err != nil {
				t.Fatal(err)
			}
			provided, env := map[string]bool{}, []string(nil)
			if needs(blocks)["docker"] {
				eng, err := dockertest.Open(t)
				provided["docker"] = err == nil
				if err != nil {
					t.Logf("no Docker engine: %v", err)
				} else {
					env = append(env, "DOCKER_HOST="+eng.Host)
				}
			}
			src, ports, skipped, n := script(readme, blocks, provided)
			for _, s := range skipped {
				t.Logf("skipped %s", s)
			}
			if n == 0 {
				t.Skipf("%s has no block to run here", readme)
			}
			runScript(t, src, ports, env...)
		})
	}
}

// runScript runs a README's script in bash from the repository root, with
// extra added to the environment.
func runScript(t *testing.T, src string, ports []string, extra ...string) {
	t.Helper()
	demo := t.TempDir()
	env := append(os.Environ(), "DEMO="+demo)
	env = append(env, extra...)
	for i, p := range freeport.Ports(t, len(ports)) {
		env = append(env, fmt.Sprintf("%s=%d", ports[i], p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", src)
	cmd.Dir = repoRoot()
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A process left in the background may hold the output pipe open.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	// Whatever the walk-through left running goes with its process group.
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		// The agents' logs say why, say, a cluster found no leader.
		logs, _ := filepath.Glob(filepath.Join(demo, "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("---- %s (end) ----\n%s", filepath.Base(l), lines.Last(string(b), 30))
		}
		t.Fatalf("the walk-through failed after %v: %v\n%s", time.Since(start).Round(time.Millisecond), err, out.String())
	}
	t.Logf("followed in %v", time.Since(start).Round(time.Millisecond))
	if testing.Verbose() {
		t.Log(out.String())
	}
}
