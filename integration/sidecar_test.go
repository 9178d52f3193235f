package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/fsnotify/fsnotify"

	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/internal/lines"
	"github.com/beacon-sd/beacon/internal/syncbuf"
	"github.com/beacon-sd/beacon/internal/waitfor"
	"github.com/beacon-sd/beacon/registrator/dockertest"
)

// The nginx example as it runs in production, every part a real process:
// three servers and a client agent from config files, a private Docker
// engine with `beacon registrator` registering its containers with the
// client, Debian's nginx with its own prefix directory on a free port, and
// `beacon template` rendering examples/nginx/app.ctmpl into the nginx
// config and running examples/nginx/nginx-reload.sh.

// appService is the name the test's containers register under; the
// template makes it the virtual server nginx.test.example.com.
const (
	appService = "nginx-test"
	appHost    = "nginx.test.example.com"
)

// sidecar is the running stack.
type sidecar struct {
	t       testing.TB
	c       *cluster
	client  *agent // the agent of the host: registrator and renderer use it
	eng     *dockertest.Engine
	reg     *proc
	tmpl    *proc
	nginx   string // the nginx prefix directory
	port    int    // where nginx listens
	src     string // the template the renderer reads (a copy, to edit)
	dest    string // the rendered nginx site config
	reloads *stamps
	writes  *stamps
	events  *dockerEvents
	http    *http.Client
}

// sidecarOptions change how the renderer runs.
type sidecarOptions struct {
	// wait is the renderer's -wait ("" for none).
	wait string
}

// newSidecar starts the stack, or skips the test where Docker or nginx
// cannot run.
func newSidecar(t testing.TB, o sidecarOptions) *sidecar {
	t.Helper()
	if testing.Short() {
		t.Skip("integration tests start real processes; skipped with -short")
	}
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx not installed (.ci/deps installs it)")
	}
	s := &sidecar{t: t, http: &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}}
	s.eng = dockertest.Start(t)
	s.events = watchDocker(t, s.eng)
	s.c = newCluster(t, 3, 1, nil)
	s.c.ready(60 * time.Second)
	s.client = s.c.clients()[0]

	s.reg = startProc(t, "registrator", []string{"DOCKER_HOST=" + s.eng.Host},
		beaconBin, "registrator", "consul://"+s.clientAddr())

	dir := t.TempDir()
	s.nginx = filepath.Join(dir, "nginx")
	for _, d := range []string{"conf.d", "logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(s.nginx, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, examplePath("nginx.conf"), filepath.Join(s.nginx, "nginx.conf"))
	s.src = filepath.Join(dir, "app.ctmpl")
	copyFile(t, examplePath("app.ctmpl"), s.src)
	s.dest = filepath.Join(s.nginx, "conf.d", "app.conf")
	s.port = freeport.Port(t)
	t.Cleanup(s.stopNginx)

	s.writes = watchWrites(t, s.dest)
	fifo := filepath.Join(dir, "reloads")
	s.reloads = readFifo(t, fifo)
	// The command notes its start, then is the example's script.
	command := fmt.Sprintf("echo run >>%s; exec %s", fifo, examplePath("nginx-reload.sh"))
	args := []string{"template", "-consul-addr", s.clientAddr(), "-log-level", "debug",
		"-template", s.src + ":" + s.dest + ":" + command}
	if o.wait != "" {
		args = append(args, "-wait", o.wait)
	}
	s.tmpl = startProc(t, "renderer", s.nginxEnv(), beaconBin, args...)

	// The first render has no site: nginx starts and answers 404.
	s.waitStatus(404, 20*time.Second)
	if n := s.reloads.count(); n != 1 {
		t.Fatalf("%d reload commands for the first render, want 1", n)
	}
	return s
}

func (s *sidecar) clientAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.client.http) }

// nginxEnv is what the template and the reload script read.
func (s *sidecar) nginxEnv() []string {
	return []string{
		"NGINX_PREFIX=" + s.nginx, "NGINX_CONF=" + filepath.Join(s.nginx, "nginx.conf"),
		"NGINX_PID=" + filepath.Join(s.nginx, "nginx.pid"),
		"NGINX_LISTEN=" + strconv.Itoa(s.port), "NGINX_LOG_DIR=" + filepath.Join(s.nginx, "logs"),
	}
}

// nginxPid is the master's pid, 0 when none runs.
func (s *sidecar) nginxPid() int {
	b, err := os.ReadFile(filepath.Join(s.nginx, "nginx.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// stopNginx stops nginx gracefully and waits for it.
func (s *sidecar) stopNginx() {
	if s.tmpl != nil {
		s.tmpl.stop()
	}
	pid := s.nginxPid()
	if pid == 0 || syscall.Kill(pid, syscall.SIGQUIT) != nil {
		return
	}
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if s.t.Failed() {
		b, _ := os.ReadFile(filepath.Join(s.nginx, "logs", "error.log"))
		s.t.Logf("---- nginx error log ----\n%s", b)
	}
}

// get asks nginx for the app's site.
func (s *sidecar) get() (int, string, error) {
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", s.port), nil)
	req.Host = appHost
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// waitStatus waits until the site answers with code.
func (s *sidecar) waitStatus(code int, within time.Duration) {
	s.t.Helper()
	waitfor.Until(s.t, within, fmt.Sprintf("nginx to answer %d for %s", code, appHost), func() bool {
		got, _, err := s.get()
		return err == nil && got == code
	})
}

// waitServedBy waits until the site answers from the container.
func (s *sidecar) waitServedBy(a *app, within time.Duration) {
	s.t.Helper()
	waitfor.Until(s.t, within, "nginx to answer from "+a.host, func() bool {
		code, body, err := s.get()
		return err == nil && code == 200 && strings.Contains(body, a.host)
	})
}

// app is a container of the demo app.
type app struct {
	id, host string
	port     int
}

// appCmd serves a page naming the container, and stops at once on
// SIGTERM (busybox httpd as PID 1 would ignore it).
var appCmd = []string{"sh", "-c", `echo "hello from $(hostname)" >/www/index.html; ` +
	`httpd -f -p 80 -h /www & trap 'kill $!; exit 0' TERM; wait`}

// tcpChecked is the settings of an instance that joins an upstream nginx
// already serves: it enters the upstream when its TCP check passes, not
// when its container starts. Without a check nginx may try it before its
// server listens, and with a second server in the upstream, three such
// tries mark it down for the template's fail_timeout (60 s); production
// setups use checks for the same reason.
var tcpChecked = []string{"SERVICE_CHECK_TCP=true", "SERVICE_CHECK_INTERVAL=1s"}

// startApp runs a container that registers as appService tagged calico,
// with env added to its environment.
func (s *sidecar) startApp(name string, env ...string) *app {
	s.t.Helper()
	port := freeport.Port(s.t)
	id := s.eng.Run(s.t, dockertest.Container{Name: name, Cmd: appCmd,
		Env:     append([]string{"SERVICE_NAME=" + appService, "SERVICE_TAGS=calico"}, env...),
		Publish: map[string]int{"80/tcp": port}})
	return &app{id: id, host: id[:12], port: port}
}

// stopApp stops a container as `docker stop` does.
func (s *sidecar) stopApp(a *app) { s.eng.Stop(s.t, a.id, 5) }

// site reads the rendered config.
func (s *sidecar) site() string {
	b, err := os.ReadFile(s.dest)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// upstreamLine is the config line of an instance.
func upstreamLine(a *app) string { return fmt.Sprintf("server 127.0.0.1:%d ", a.port) }

// renders counts the files the renderer wrote.
func (s *sidecar) renders() int { return s.tmpl.count("template: rendered:") }

// proc is a child process with its output kept.
type proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	done chan struct{}
	out  syncbuf.Buffer
}

func startProc(t testing.TB, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = procAttr()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("---- output of %s ----\n%s", name, p.tail(80))
		}
	})
	return p
}

// stop ends the process with SIGTERM (SIGKILL after 10s) and waits.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// count is how many lines of output contain s.
func (p *proc) count(s string) int { return strings.Count(p.out.String(), s) }

// tail is the last lines of the output.
func (p *proc) tail(n int) string { return lines.Last(p.out.String(), n) }

// stamps are the times something happened, in order.
type stamps struct {
	mu   sync.Mutex
	at   []time.Time
	wake chan struct{}
}

func newStamps() *stamps { return &stamps{wake: make(chan struct{}, 1)} }

func (s *stamps) add(t time.Time) {
	s.mu.Lock()
	s.at = append(s.at, t)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *stamps) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}

// wait returns the n-th time (from 1), waiting for it up to within.
func (s *stamps) wait(n int, within time.Duration) (time.Time, bool) {
	deadline := time.After(within)
	for {
		s.mu.Lock()
		if len(s.at) >= n {
			t := s.at[n-1]
			s.mu.Unlock()
			return t, true
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-deadline:
			return time.Time{}, false
		}
	}
}

// readFifo makes a named pipe and notes the time of each line written to
// it. The test holds it open for reading and writing, so writers never
// block on it and it never ends.
func readFifo(t testing.TB, path string) *stamps {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := newStamps()
	go func() {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			st.add(time.Now())
		}
	}()
	t.Cleanup(func() { f.Close() })
	return st
}

// watchWrites notes each time a file is replaced or written.
func watchWrites(t testing.TB, path string) *stamps {
	t.Helper()
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	st := newStamps()
	go func() {
		for ev := range w.Events {
			if ev.Name == path && ev.Has(fsnotify.Create) || ev.Name == path && ev.Has(fsnotify.Write) {
				st.add(time.Now())
			}
		}
	}()
	t.Cleanup(func() { w.Close() })
	return st
}

// dockerEvents notes when each container event happened, by Docker's clock.
type dockerEvents struct {
	mu   sync.Mutex
	at   map[string]time.Time // container ID + " " + action
	wake chan struct{}
}

func watchDocker(t testing.TB, eng *dockertest.Engine) *dockerEvents {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	msgs, errs := eng.Client.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", "container"))})
	d := &dockerEvents{at: map[string]time.Time{}, wake: make(chan struct{}, 1)}
	go func() {
		for {
			select {
			case m := <-msgs:
				d.mu.Lock()
				d.at[m.Actor.ID+" "+string(m.Action)] = time.Unix(0, m.TimeNano)
				d.mu.Unlock()
				select {
				case d.wake <- struct{}{}:
				default:
				}
			case <-errs:
				return
			}
		}
	}()
	return d
}

// when returns the time of a container's event, waiting up to within.
func (d *dockerEvents) when(id, action string, within time.Duration) (time.Time, bool) {
	deadline := time.After(within)
	for {
		d.mu.Lock()
		at, ok := d.at[id+" "+action]
		d.mu.Unlock()
		if ok {
			return at, true
		}
		select {
		case <-d.wake:
		case <-deadline:
			return time.Time{}, false
		}
	}
}

// examplePath is a file of examples/nginx.
func examplePath(name string) string {
	wd, _ := os.Getwd()
	return filepath.Join(filepath.Dir(wd), "examples", "nginx", name)
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
