package examples

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/freeport"
)

var update = flag.Bool("update", false, "rewrite golden files")

// nginxPrefix is a directory laid out as examples/nginx/nginx.conf expects,
// for an nginx of the test's own.
type nginxPrefix struct {
	dir, conf, pid, site string
	port                 int
}

// newNginxPrefix prepares a prefix directory holding the example's main
// config; site is conf.d/app.conf.
func newNginxPrefix(t *testing.T) *nginxPrefix {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx not installed (.ci/deps installs it)")
	}
	dir := t.TempDir()
	for _, d := range []string{"conf.d", "logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	main, err := os.ReadFile(example("nginx", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	p := &nginxPrefix{dir: dir, conf: filepath.Join(dir, "nginx.conf"), pid: filepath.Join(dir, "nginx.pid"),
		site: filepath.Join(dir, "conf.d", "app.conf"), port: freeport.Port(t)}
	if err := os.WriteFile(p.conf, main, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

// env is the environment the reload script and the template read.
func (p *nginxPrefix) env() []string {
	return append(os.Environ(), "NGINX_PREFIX="+p.dir, "NGINX_CONF="+p.conf, "NGINX_PID="+p.pid,
		"NGINX_LISTEN="+strconv.Itoa(p.port), "NGINX_LOG_DIR="+filepath.Join(p.dir, "logs"))
}

// masterPid is the pid the pid file holds, 0 when there is none.
func (p *nginxPrefix) masterPid() int {
	b, err := os.ReadFile(p.pid)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// stop ends the nginx the pid file names, and waits for it.
func (p *nginxPrefix) stop() {
	pid := p.masterPid()
	if pid == 0 || syscall.Kill(pid, syscall.SIGQUIT) != nil {
		return
	}
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// reload runs the example's reload script.
func (p *nginxPrefix) reload(t *testing.T) (string, error) {
	t.Helper()
	cmd := exec.Command(example("nginx", "nginx-reload.sh"))
	cmd.Env = p.env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// get asks the nginx for host and returns the status and body.
func (p *nginxPrefix) get(host string) (int, string, error) {
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", p.port), nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// renderFixture renders app.ctmpl once from a catalog fixture, as CI would
// check a template change, with the listening port and log directory given.
func renderFixture(t *testing.T, port int, logs, dest string) {
	t.Helper()
	cmd := exec.Command(beaconBin, "template", "-once", "-fixture", example("nginx", "testdata", "catalog.json"),
		"-template", example("nginx", "app.ctmpl")+":"+dest)
	cmd.Env = append(os.Environ(), "NGINX_LISTEN="+strconv.Itoa(port), "NGINX_LOG_DIR="+logs)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("beacon template -once: %v\n%s", err, out)
	}
}

// TestNginxTemplate renders app.ctmpl from a catalog with calico and other
// services, healthy, critical and in maintenance, and compares the result
// with testdata/app.conf.golden (go test -run NginxTemplate -update
// rewrites it); nginx must accept it.
func TestNginxTemplate(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "app.conf")
	renderFixture(t, 80, "/var/log/nginx", dest)
	got, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	golden := example("nginx", "testdata", "app.conf.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("app.ctmpl rendered\n%s\nwant (%s)\n%s", got, golden, want)
	}
	for _, s := range []string{"server_name nginx.test.example.com;", "server_name billing.api.example.com;",
		"server 127.0.0.1:65535; # force a 502"} {
		if !strings.Contains(string(got), s) {
			t.Errorf("the rendered file lacks %q", s)
		}
	}
	for _, s := range []string{"redis", ":8082", ":9000"} {
		if strings.Contains(string(got), s) {
			t.Errorf("the rendered file has %q: only healthy instances tagged calico belong", s)
		}
	}

	p := newNginxPrefix(t)
	renderFixture(t, p.port, filepath.Join(p.dir, "logs"), p.site)
	out, err := exec.Command("nginx", "-p", p.dir, "-c", p.conf, "-t").CombinedOutput()
	if err != nil {
		t.Errorf("nginx -t on the rendered file: %v\n%s", err, out)
	}
}

// TestNginxReloadScript runs nginx-reload.sh as the renderer does: it
// starts nginx, reloads it after a change, refuses a broken configuration
// with nginx's message while nginx keeps serving, and is not fooled by a
// pid file that names some other process.
func TestNginxReloadScript(t *testing.T) {
	p := newNginxPrefix(t)
	site := func(body string) {
		t.Helper()
		conf := fmt.Sprintf("server {\n    listen %d;\n    server_name app.example.com;\n    return 200 %q;\n}\n", p.port, body)
		if err := os.WriteFile(p.site, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	serves := func(want string) {
		t.Helper()
		var body string
		var err error
		for i := 0; i < 100; i++ {
			var code int
			code, body, err = p.get("app.example.com")
			if err == nil && code == 200 && body == want {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("nginx answers %q (%v), want %q", body, err, want)
	}

	// Nothing runs: the script starts nginx.
	site("one")
	if out, err := p.reload(t); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	serves("one")
	master := p.masterPid()

	// It runs: the script reloads it, the master stays.
	site("two")
	if out, err := p.reload(t); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	serves("two")
	if pid := p.masterPid(); pid != master {
		t.Errorf("master %d after a reload, was %d: nginx was started again, not reloaded", pid, master)
	}

	// A broken configuration: nginx's message, exit 1, the old one serves.
	if err := os.WriteFile(p.site, []byte("upstrem broken {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := p.reload(t)
	if err == nil {
		t.Fatalf("the script accepted a broken configuration:\n%s", out)
	}
	if code := err.(*exec.ExitError).ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, s := range []string{`unknown directive "upstrem"`, "test failed", "not reloaded"} {
		if !strings.Contains(out, s) {
			t.Errorf("the script's output lacks %q:\n%s", s, out)
		}
	}
	serves("two")

	// nginx gone, its pid file left naming a live process that is not
	// nginx (this test): the script must start nginx, not signal it.
	p.stop()
	if err := os.WriteFile(p.pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	site("three")
	if out, err := p.reload(t); err != nil {
		t.Fatalf("start over a stale pid file: %v\n%s", err, out)
	}
	serves("three")
	if pid := p.masterPid(); pid == os.Getpid() || pid == 0 {
		t.Errorf("pid file holds %d after the start", pid)
	}
}
