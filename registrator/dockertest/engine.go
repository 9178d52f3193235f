// Package dockertest runs a private Docker engine for tests: its own
// dockerd with a data root, exec root and socket in a fresh directory, its
// own bridge and subnet, published ports bound to 127.0.0.1 only, and a
// busybox image imported from Debian's busybox-static (no registry is
// needed). The engine, its containers and the bridge are removed when the
// test ends.
//
// Tests that need an engine skip, saying why, where one cannot run here
// (not root, no dockerd, no busybox-static, -short); with
// BEACON_REQUIRE_DOCKER=1 those are failures instead.
package dockertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// Image is the name of the busybox image every engine has.
const Image = "beacon-test/busybox:latest"

// Engine is a running private dockerd.
type Engine struct {
	// Host is the engine's address for DOCKER_HOST: unix://<dir>/docker.sock.
	Host string
	// Client talks to the engine.
	Client *client.Client
	// Bridge and Subnet are the engine's default network.
	Bridge, Subnet string

	dir    string
	t      testing.TB
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

var seq atomic.Int64

// Start runs a private engine for the test, or skips it where an engine
// cannot run.
func Start(t testing.TB) *Engine {
	t.Helper()
	e, err := Open(t)
	if err != nil {
		skip(t, err.Error())
	}
	return e
}

// Open runs a private engine for the test, like Start, but returns why
// none can run here instead of skipping, for tests that go on without one.
func Open(t testing.TB) (*Engine, error) {
	t.Helper()
	if testing.Short() {
		return nil, fmt.Errorf("-short")
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("dockerd needs root")
	}
	for _, bin := range []string{"dockerd", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not installed (.ci/deps installs docker.io)", bin)
		}
	}
	if _, err := busybox(); err != nil {
		return nil, err
	}
	removeStale()

	n := seq.Add(1)
	dir, err := os.MkdirTemp("/tmp", fmt.Sprintf("bcn%d-%d-", os.Getpid(), n))
	if err != nil {
		t.Fatalf("dockertest: %v", err)
	}
	e := &Engine{
		dir: dir, t: t,
		Host:   "unix://" + filepath.Join(dir, "docker.sock"),
		Bridge: fmt.Sprintf("bcn%dx%d", os.Getpid(), n),
	}
	if len(e.Bridge) > 15 {
		e.Bridge = e.Bridge[len(e.Bridge)-15:]
	}
	t.Cleanup(e.cleanup)
	subnet, gw, err := freeSubnet()
	if err != nil {
		return nil, err
	}
	e.Subnet = subnet
	if out, err := run("ip", "link", "add", "name", e.Bridge, "type", "bridge"); err != nil {
		return nil, fmt.Errorf("cannot create a bridge: %s", out)
	}
	if out, err := run("ip", "addr", "add", gw+"/24", "dev", e.Bridge); err != nil {
		t.Fatalf("dockertest: %s", out)
	}
	if out, err := run("ip", "link", "set", e.Bridge, "up"); err != nil {
		t.Fatalf("dockertest: %s", out)
	}
	if err := e.startDaemon(); err != nil {
		return nil, err
	}
	e.Client, err = client.NewClientWithOpts(client.WithHost(e.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("dockertest: client: %v", err)
	}
	if err := e.importBusybox(); err != nil {
		t.Fatalf("dockertest: import busybox: %v", err)
	}
	return e, nil
}

// skip skips the test, loudly, or fails it when BEACON_REQUIRE_DOCKER is set.
func skip(t testing.TB, reason string) {
	t.Helper()
	msg := "no Docker engine for this test: " + reason
	if os.Getenv("BEACON_REQUIRE_DOCKER") != "" {
		t.Fatal(msg + " (BEACON_REQUIRE_DOCKER is set)")
	}
	fmt.Fprintf(os.Stderr, "=== SKIP %s: %s\n", t.Name(), msg)
	t.Skip(msg)
}

// startDaemon runs dockerd and waits until it answers.
func (e *Engine) startDaemon() error {
	logf, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	e.log = logf
	cmd := exec.Command("dockerd",
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"),
		"-H", e.Host,
		"--storage-driver=vfs", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
		"--ip=127.0.0.1", "--bridge="+e.Bridge, "--shutdown-timeout=2",
		"--userland-proxy=true", "--log-level=warn",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd: %v", err)
	}
	e.cmd = cmd
	e.exited = make(chan struct{})
	go func() { cmd.Wait(); close(e.exited) }()

	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-e.exited:
			return fmt.Errorf("dockerd exited at start: %s", e.logTail())
		default:
		}
		c, err := client.NewClientWithOpts(client.WithHost(e.Host), client.WithAPIVersionNegotiation())
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = c.Ping(ctx)
			cancel()
			c.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("dockerd did not answer within 30s: %s", e.logTail())
}

// StopDaemon stops dockerd the way an operator does (SIGTERM): it stops
// the containers and exits. The data root stays for StartDaemon.
func (e *Engine) StopDaemon() {
	e.t.Helper()
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.exited
	}
	e.cmd = nil
	e.log.Close()
}

// StartDaemon starts dockerd again after StopDaemon, on the same data.
func (e *Engine) StartDaemon() {
	e.t.Helper()
	if err := e.startDaemon(); err != nil {
		e.t.Fatalf("dockertest: restart: %v", err)
	}
}

func (e *Engine) logTail() string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "dockerd.log"))
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

// cleanup removes the containers, stops the engine, deletes the bridge and
// the directory.
func (e *Engine) cleanup() {
	if e.cmd != nil && e.Client != nil {
		e.removeAll()
	}
	if e.Client != nil {
		e.Client.Close()
	}
	if e.cmd != nil {
		e.StopDaemon()
	}
	unmountUnder(e.dir)
	run("ip", "link", "del", e.Bridge)
	os.RemoveAll(e.dir)
	if e.t.Failed() {
		e.t.Logf("dockerd log:\n%s", e.logTail())
	}
}

// removeStale stops the engines of test processes that died without
// cleaning up (a test binary killed by its timeout) and deletes their
// bridges and directories.
func removeStale() {
	links, _ := net.Interfaces()
	for _, l := range links {
		if pid, ok := ownerPid(l.Name, "x"); ok && !alive(pid) {
			run("ip", "link", "del", l.Name)
		}
	}
	dirs, _ := filepath.Glob("/tmp/bcn*-*-*")
	for _, d := range dirs {
		if pid, ok := ownerPid(filepath.Base(d), "-"); ok && !alive(pid) {
			if b, err := os.ReadFile(filepath.Join(d, "docker.pid")); err == nil {
				if dpid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && alive(dpid) && isDockerd(dpid) {
					syscall.Kill(dpid, syscall.SIGTERM)
					for i := 0; i < 100 && alive(dpid); i++ {
						time.Sleep(100 * time.Millisecond)
					}
					syscall.Kill(dpid, syscall.SIGKILL)
				}
			}
			unmountUnder(d)
			os.RemoveAll(d)
		}
	}
}

// ownerPid reads the test process ID from a name "bcn<pid><sep>...".
func ownerPid(name, sep string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "bcn")
	if !ok {
		return 0, false
	}
	p, _, ok := strings.Cut(rest, sep)
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(p)
	return pid, err == nil
}

// isDockerd reports whether a process is a dockerd.
func isDockerd(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.TrimSpace(string(b)) == "dockerd"
}

func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// unmountUnder detaches mounts left below dir (network namespaces).
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
}

// freeSubnet picks a /24 in 172.31.0.0/16 that no interface uses.
func freeSubnet() (subnet, gateway string, err error) {
	used := map[string]bool{}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			ip := ipn.IP.To4()
			used[fmt.Sprintf("%d.%d.%d", ip[0], ip[1], ip[2])] = true
		}
	}
	start := (os.Getpid() + int(seq.Load())*7) % 250
	for i := 0; i < 250; i++ {
		third := 1 + (start+i)%250
		prefix := fmt.Sprintf("172.31.%d", third)
		if !used[prefix] {
			return prefix + ".0/24", prefix + ".1", nil
		}
	}
	return "", "", fmt.Errorf("no free /24 in 172.31.0.0/16")
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
