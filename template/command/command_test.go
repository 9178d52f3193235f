package command

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/core/version"
	"github.com/beacon-sd/beacon/internal/syncbuf"
)

// invocation is one `beacon template` run in the background.
type invocation struct {
	stdout, stderr *syncbuf.Buffer
	sigs           chan os.Signal
	code           chan int
}

func invoke(env map[string]string, args ...string) *invocation {
	inv := &invocation{stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}, sigs: make(chan os.Signal, 4), code: make(chan int, 1)}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	go func() {
		inv.code <- RunEnv(args, Env{Stdout: inv.stdout, Stderr: inv.stderr, Signals: inv.sigs, LookupEnv: lookup})
	}()
	return inv
}

func (inv *invocation) wait(t *testing.T) int {
	t.Helper()
	select {
	case c := <-inv.code:
		return c
	case <-time.After(20 * time.Second):
		t.Fatalf("still running; stderr:\n%s", inv.stderr.String())
	}
	return -1
}

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	inv := invoke(env, args...)
	code := inv.wait(t)
	return code, inv.stdout.String(), inv.stderr.String()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func read(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func write(t *testing.T, p, s string) string {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, filepath.Join(dir, "bad.ctmpl"), "x\n{{ nosuch }}\n")
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"help", []string{"-h"}, ExitOK, "Usage: beacon template", ""},
		{"version", []string{"-v"}, ExitOK, "", version.String()},
		{"unknown flag", []string{"-nope"}, ExitFlags, "flag provided but not defined: -nope", ""},
		{"bad wait", []string{"-wait", "soon"}, ExitFlags, `"soon" is not a duration`, ""},
		{"no templates", []string{"-once"}, ExitConfig, "no templates configured", ""},
		{"missing config file", []string{"-config", filepath.Join(dir, "nope.hcl")}, ExitConfig, "nope.hcl: no such file", ""},
		{"config error with line", []string{"-config", write(t, filepath.Join(dir, "c.hcl"), "consul {\n adress = \"x\"\n}\n")}, ExitConfig, `c.hcl:2: unknown key "adress" in consul`, ""},
		{"template parse error", []string{"-once", "-template", bad + ":" + filepath.Join(dir, "out")}, ExitRunner, bad + `:2: function "nosuch" not defined`, ""},
		{"unknown syslog facility", []string{"-syslog", "-syslog-facility", "LOCAL9", "-template", "a:b"}, ExitConfig, `syslog facility "LOCAL9": unknown`, ""},
		{"missing template file", []string{"-once", "-template", filepath.Join(dir, "none.ctmpl") + ":x"}, ExitRunner, "none.ctmpl: no such file", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) || !strings.Contains(stdout, tc.stdout) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d with %q / %q", code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

// CONSUL_HTTP_ADDR and CONSUL_TOKEN reach the API as consul-template
// sends them.
func TestEnvironment(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Consul-Token"))
		mu.Unlock()
		if r.Header.Get("X-Consul-Token") != "from-env" {
			http.Error(w, "Permission denied", http.StatusForbidden)
			return
		}
		w.Header().Set("X-Consul-Index", "3")
		fmt.Fprint(w, `[{"Key":"k","Value":"dmFsdWU="}]`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	src := write(t, filepath.Join(dir, "t.ctmpl"), `{{ key "k" }}`)
	code, stdout, stderr := run(t, map[string]string{"CONSUL_HTTP_ADDR": srv.URL, "CONSUL_TOKEN": "from-env"},
		"-once", "-dry", "-template", src)
	if code != ExitOK || stdout != "value" {
		t.Fatalf("exit %d stdout %q stderr %s", code, stdout, stderr)
	}
	code, _, stderr = run(t, map[string]string{"CONSUL_HTTP_ADDR": srv.URL, "CONSUL_TOKEN": "from-env"},
		"-once", "-dry", "-consul-token", "wrong", "-consul-retry-attempts", "0", "-consul-retry=false", "-template", src)
	if code != ExitRunner || !strings.Contains(stderr, "403 Permission denied") {
		t.Fatalf("a flag must win over the environment: exit %d stderr %s", code, stderr)
	}
}

// A daemon: pid file, SIGUSR1 status, SIGHUP reload of the config
// directory (a bad file keeps the running config), SIGTERM clean stop.
func TestDaemonSignals(t *testing.T) {
	a := testagent.Start(t)
	a.Client.KV().Put(&api.KVPair{Key: "k", Value: []byte("1")}, nil)
	dir := t.TempDir()
	confDir := filepath.Join(dir, "hcl_conf")
	os.Mkdir(confDir, 0o755)
	pid := filepath.Join(dir, "ct.pid")
	tmpl := func(name string) string {
		return fmt.Sprintf("template {\n  contents = \"%s={{ key \\\"k\\\" }}\"\n  destination = %q\n}\n", name, filepath.Join(dir, name))
	}
	write(t, filepath.Join(confDir, "a.hcl"), fmt.Sprintf("consul {\n  address = %q\n}\n", a.HTTPAddr)+tmpl("a"))
	inv := invoke(nil, "-config", confDir, "-pid-file", pid, "-log-level", "info")

	eventually(t, "the first render", func() bool { return read(filepath.Join(dir, "a")) == "a=1" })
	if strings.TrimSpace(read(pid)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file holds %q", read(pid))
	}

	inv.sigs <- syscall.SIGUSR1
	eventually(t, "the status dump", func() bool {
		return strings.Contains(inv.stderr.String(), "a.hcl:4 -> "+filepath.Join(dir, "a"))
	})

	write(t, filepath.Join(confDir, "b.hcl"), tmpl("b"))
	inv.sigs <- syscall.SIGHUP
	eventually(t, "the template added by the reload", func() bool { return read(filepath.Join(dir, "b")) == "b=1" })

	write(t, filepath.Join(confDir, "c.hcl"), "template {\n  sourc = \"x\"\n}\n")
	inv.sigs <- syscall.SIGHUP
	eventually(t, "the rejected reload", func() bool {
		return strings.Contains(inv.stderr.String(), `reload failed; keeping the running configuration`)
	})
	a.Client.KV().Put(&api.KVPair{Key: "k", Value: []byte("2")}, nil)
	eventually(t, "renders after a failed reload", func() bool {
		return read(filepath.Join(dir, "a")) == "a=2" && read(filepath.Join(dir, "b")) == "b=2"
	})

	inv.sigs <- syscall.SIGTERM
	if code := inv.wait(t); code != ExitOK {
		t.Errorf("SIGTERM: exit %d, want 0", code)
	}
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Error("the pid file must be removed on exit")
	}
}

// An interrupted -once says what it was waiting for and exits 12.
func TestOnceInterrupted(t *testing.T) {
	a := testagent.Start(t)
	dir := t.TempDir()
	src := write(t, filepath.Join(dir, "t.ctmpl"), `{{ key "never/there" }}`)
	inv := invoke(nil, "-once", "-consul-addr", a.HTTPAddr, "-template", src+":"+filepath.Join(dir, "out"))
	time.Sleep(300 * time.Millisecond)
	inv.sigs <- syscall.SIGINT
	code := inv.wait(t)
	if code != ExitInterrupt || !strings.Contains(inv.stderr.String(), "kv.get(never/there): the key does not exist") {
		t.Errorf("exit %d, stderr:\n%s", code, inv.stderr.String())
	}
}

// -exec: the renderer's exit code is the child's, and SIGTERM reaches it.
func TestExecExitCodes(t *testing.T) {
	a := testagent.Start(t)
	a.Client.KV().Put(&api.KVPair{Key: "k", Value: []byte("1")}, nil)
	dir := t.TempDir()
	src := write(t, filepath.Join(dir, "t.ctmpl"), `{{ key "k" }}`)
	code, _, stderr := run(t, nil, "-consul-addr", a.HTTPAddr, "-template", src+":"+filepath.Join(dir, "out"), "-exec", "exit 9")
	if code != 9 {
		t.Errorf("child exit 9: renderer exit %d\n%s", code, stderr)
	}
	inv := invoke(nil, "-consul-addr", a.HTTPAddr, "-template", src+":"+filepath.Join(dir, "out"),
		"-exec", "trap 'exit 21' TERM; touch "+filepath.Join(dir, "up")+"; while :; do sleep 0.02; done")
	eventually(t, "the child", func() bool { _, err := os.Stat(filepath.Join(dir, "up")); return err == nil })
	inv.sigs <- syscall.SIGTERM
	if code := inv.wait(t); code != 21 {
		t.Errorf("after SIGTERM: exit %d, want the child's 21\n%s", code, inv.stderr.String())
	}
}
