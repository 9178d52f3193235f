// Package integration runs beacon as users do: several agent processes on
// 127.0.0.1 started from config files, driven through the official API
// client. `go test -short` skips it.
package integration

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/beaconbin"
	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/internal/lines"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

var beaconBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(beaconbin.RunTests(m, &beaconBin, false))
}

func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration tests start real processes; skipped with -short")
	}
}

// agent is one beacon agent process.
type agent struct {
	t      testing.TB
	name   string
	server bool
	dir    string
	http   int
	rpc    int
	serf   int
	cmd    *exec.Cmd
	done   chan struct{}
	log    *bytes.Buffer
	logMu  sync.Mutex
	client *api.Client
	// host is the address the agent binds and is reached at ("" is
	// 127.0.0.1); netns, when set, is the network namespace it runs in.
	host, netns string
}

// ip is the agent's address.
func (a *agent) ip() string {
	if a.host == "" {
		return "127.0.0.1"
	}
	return a.host
}

// addr is host:port on the agent's address.
func (a *agent) addr(port int) string { return fmt.Sprintf("%s:%d", a.ip(), port) }

// cluster is a set of agents sharing join addresses.
type cluster struct {
	t      testing.TB
	agents []*agent
	extra  map[string]interface{}
	// tune, when set, changes each agent's config before it is written.
	tune func(a *agent, cfg map[string]interface{})
}

// newCluster starts servers (bootstrap_expect = servers) and clients.
func newCluster(t testing.TB, servers, clients int, extra map[string]interface{}) *cluster {
	t.Helper()
	return newTunedCluster(t, servers, clients, extra, nil)
}

// newTunedCluster is newCluster with a per-agent config hook.
func newTunedCluster(t testing.TB, servers, clients int, extra map[string]interface{}, tune func(*agent, map[string]interface{})) *cluster {
	t.Helper()
	skipShort(t)
	c := &cluster{t: t, extra: extra, tune: tune}
	ports := freeport.Ports(t, 3*(servers+clients))
	for i := 0; i < servers+clients; i++ {
		a := &agent{t: t, server: i < servers, dir: t.TempDir(),
			http: ports[3*i], rpc: ports[3*i+1], serf: ports[3*i+2]}
		if a.server {
			a.name = fmt.Sprintf("s%d", i+1)
		} else {
			a.name = fmt.Sprintf("c%d", i-servers+1)
		}
		c.agents = append(c.agents, a)
	}
	c.launch(servers)
	return c
}

// launch gives each agent its client, writes the configs and starts the
// agents; the test's end stops them.
func (c *cluster) launch(servers int) {
	t := c.t
	for _, a := range c.agents {
		cfg := api.DefaultNonPooledConfig()
		cfg.Address = a.addr(a.http)
		a.client, _ = api.NewClient(cfg)
	}
	for _, a := range c.agents {
		c.writeConfig(a, servers)
		c.start(a)
	}
	t.Cleanup(func() {
		if t.Failed() {
			// Agents still running print their goroutines on SIGQUIT:
			// what a stuck agent was doing is then in its log.
			for _, a := range c.agents {
				if a.cmd != nil && a.cmd.Process != nil && !a.exited() {
					a.cmd.Process.Signal(syscall.SIGQUIT)
				}
			}
			for _, a := range c.agents {
				if a.cmd == nil {
					continue
				}
				select {
				case <-a.done:
				case <-time.After(3 * time.Second):
				}
			}
		}
		for _, a := range c.agents {
			a.kill()
		}
		if t.Failed() {
			for _, a := range c.agents {
				t.Logf("---- log of %s ----\n%s", a.name, a.logTail(60))
				if dump := a.goroutineDump(); dump != "" {
					t.Logf("---- goroutines of %s ----\n%s", a.name, dump)
				}
			}
		}
	})
}

func (c *cluster) writeConfig(a *agent, servers int) {
	var join []string
	for _, o := range c.agents[:servers] {
		join = append(join, o.addr(o.serf))
	}
	cfg := map[string]interface{}{
		"node_name": a.name, "datacenter": "dc1", "data_dir": filepath.Join(a.dir, "data"),
		"bind_addr": a.ip(), "client_addr": a.ip(), "log_level": "debug",
		"ports":          map[string]int{"http": a.http, "dns": -1, "server": a.rpc, "serf_lan": a.serf, "serf_wan": -1},
		"retry_join":     join,
		"retry_interval": "500ms",
	}
	if a.server {
		cfg["server"] = true
		cfg["bootstrap_expect"] = servers
	}
	for k, v := range c.extra {
		cfg[k] = v
	}
	if c.tune != nil {
		c.tune(a, cfg)
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	os.MkdirAll(filepath.Join(a.dir, "config"), 0o755)
	if err := os.WriteFile(filepath.Join(a.dir, "config", "agent.json"), b, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// start launches (or relaunches) an agent from its config dir.
func (c *cluster) start(a *agent) {
	a.logMu.Lock()
	a.log = &bytes.Buffer{}
	a.logMu.Unlock()
	a.cmd = exec.Command(beaconBin, "agent", "-config-dir", filepath.Join(a.dir, "config"))
	if a.netns != "" {
		// ip execs the agent in place: a.cmd's process is the agent's.
		a.cmd = exec.Command("ip", append([]string{"netns", "exec", a.netns}, a.cmd.Args...)...)
	}
	a.cmd.Stdout = a
	a.cmd.Stderr = a
	a.cmd.SysProcAttr = procAttr()
	if err := a.cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", a.name, err)
	}
	done := make(chan struct{})
	a.logMu.Lock() // exited may be polling from other goroutines
	a.done = done
	a.logMu.Unlock()
	go func(cmd *exec.Cmd) { cmd.Wait(); close(done) }(a.cmd)
}

func (a *agent) Write(b []byte) (int, error) {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	return a.log.Write(b)
}

// logTail is the last n lines the agent logged before any goroutine
// listing it printed on SIGQUIT.
func (a *agent) logTail(n int) string {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	all := a.log.String()
	if i := strings.Index(all, "SIGQUIT: quit"); i >= 0 {
		all = all[:i]
	}
	return lines.Last(all, n)
}

func (a *agent) logContains(s string) bool {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	return strings.Contains(a.log.String(), s)
}

// goroutineDump is the goroutine listing the agent printed on SIGQUIT, if
// it did.
func (a *agent) goroutineDump() string {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	all := a.log.String()
	if i := strings.Index(all, "SIGQUIT: quit"); i >= 0 {
		return all[i:]
	}
	return ""
}

// logLine is the first line of the agent's log containing s.
func (a *agent) logLine(s string) string {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	for _, line := range strings.Split(a.log.String(), "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// kill stops an agent the hard way (SIGKILL) and waits for it.
func (a *agent) kill() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	select {
	case <-a.done:
		return
	default:
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
}

// signal sends sig and waits up to timeout for the agent to exit.
func (a *agent) signal(sig syscall.Signal, timeout time.Duration) bool {
	a.cmd.Process.Signal(sig)
	select {
	case <-a.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (a *agent) rpcAddr() string { return a.addr(a.rpc) }

// leader returns the server that leads, waiting up to within.
func (c *cluster) leader(within time.Duration) *agent {
	c.t.Helper()
	var found *agent
	waitfor.Until(c.t, within, "a leader", func() bool {
		for _, a := range c.agents {
			if !a.server || a.exited() {
				continue
			}
			l, err := a.client.Status().Leader()
			if err != nil || l == "" {
				continue
			}
			for _, b := range c.agents {
				if b.rpcAddr() == l && !b.exited() {
					found = b
					return true
				}
			}
		}
		return false
	})
	return found
}

func (a *agent) exited() bool {
	a.logMu.Lock()
	done := a.done
	a.logMu.Unlock()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// servers and clients of the cluster.
func (c *cluster) servers() []*agent { return c.filter(true) }
func (c *cluster) clients() []*agent { return c.filter(false) }
func (c *cluster) filter(server bool) []*agent {
	var out []*agent
	for _, a := range c.agents {
		if a.server == server {
			out = append(out, a)
		}
	}
	return out
}

// ready waits until every agent sees every other alive and a leader exists.
func (c *cluster) ready(within time.Duration) {
	c.t.Helper()
	c.leader(within)
	for _, a := range c.agents {
		waitfor.Until(c.t, within, a.name+" to see every member alive", func() bool {
			ms, err := a.client.Agent().Members(false)
			if err != nil {
				return false
			}
			alive := 0
			for _, m := range ms {
				if m.Status == 1 {
					alive++
				}
			}
			return alive == len(c.agents)
		})
	}
}

// waitHTTP waits until the agent's HTTP API answers.
func (a *agent) waitHTTP(within time.Duration) {
	a.t.Helper()
	waitfor.Until(a.t, within, a.name+"'s HTTP API", func() bool {
		_, err := a.client.Agent().Self()
		return err == nil
	})
}
