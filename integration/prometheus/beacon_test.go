package promsd

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// beaconBin is the beacon binary built from this checkout for the tests.
var beaconBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "beacon-promsd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	beaconBin = filepath.Join(dir, "beacon")
	build := exec.Command("go", "build", "-o", beaconBin, "./cmd/beacon")
	build.Dir = repoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building beacon:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the beacon checkout this module sits in.
func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

// agent is one beacon agent process started from a JSON config file.
type agent struct {
	name   string
	http   int
	serf   int
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	log    bytes.Buffer
	client *api.Client
}

func (a *agent) Write(b []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.Write(b)
}

func (a *agent) addr() string { return fmt.Sprintf("127.0.0.1:%d", a.http) }

// startAgent writes cfg (plus the ports) to a config dir and runs
// `beacon agent -config-dir` on it until the test ends.
func startAgent(t *testing.T, name string, cfg map[string]any) *agent {
	t.Helper()
	ports := freePorts(t, 3)
	a := &agent{name: name, http: ports[0], serf: ports[2], done: make(chan struct{})}
	dir := t.TempDir()
	cfg["node_name"] = name
	cfg["data_dir"] = filepath.Join(dir, "data")
	cfg["bind_addr"] = "127.0.0.1"
	cfg["client_addr"] = "127.0.0.1"
	cfg["ports"] = map[string]int{"http": ports[0], "server": ports[1], "serf_lan": ports[2], "dns": -1, "serf_wan": -1}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	confDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(confDir, "agent.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(beaconBin, "agent", "-config-dir", confDir)
	a.cmd.Stdout, a.cmd.Stderr = a, a
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		<-a.done
		if t.Failed() {
			a.mu.Lock()
			t.Logf("---- log of %s ----\n%s", a.name, a.log.String())
			a.mu.Unlock()
		}
	})
	c := api.DefaultNonPooledConfig()
	c.Address = a.addr()
	a.client, _ = api.NewClient(c)
	return a
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exampleConfig is the path of examples/prometheus/prometheus.yml.
func exampleConfig() string {
	return filepath.Join(repoRoot(), "examples", "prometheus", "prometheus.yml")
}

func describe(m map[string][]Target) string {
	var b strings.Builder
	for job, ts := range m {
		for _, t := range ts {
			fmt.Fprintf(&b, "%s %s %v\n", job, t.Address, t.Labels)
		}
	}
	return b.String()
}

func itoa(n int) string { return fmt.Sprint(n) }
