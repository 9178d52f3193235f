package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/syncbuf"
	"github.com/beacon-sd/beacon/template/internal/catalogtest"
)

// -once renders every seed template against a real agent exactly as the
// golden files say, and runs each command.
func TestOnceRendersSeedTemplates(t *testing.T) {
	a := testagent.Start(t)
	catalogtest.Seed(t, a.Client)
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	args := []string{"-consul-addr", a.HTTPAddr, "-once"}
	names := []string{"seed000_tmpltest", "seed000_nginx", "seed003_calico", "seed004_key"}
	for _, n := range names {
		src, _ := filepath.Abs("../testdata/golden/" + n + ".ctmpl")
		args = append(args, "-template", fmt.Sprintf("%s:%s:echo %s >> %s", src, filepath.Join(dir, "out", n), n, runs))
	}
	err, log, _ := runOnce(t, setup(t, "", args...))
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	for _, n := range names {
		want, _ := os.ReadFile("../testdata/golden/" + n + ".golden")
		if got := read(filepath.Join(dir, "out", n)); got != string(want) {
			t.Errorf("%s differs from its golden file:\n%s", n, got)
		}
	}
	if got := strings.Join(lines(runs), ","); got != strings.Join(names, ",") {
		t.Errorf("commands %q", got)
	}
}

// The same seed templates render from a fixture file holding the same
// catalog, with no server.
func TestOnceFromFixture(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-once", "-fixture", "testdata/catalog.json"}
	names := []string{"seed003_calico", "seed004_key"}
	for _, n := range names {
		src, _ := filepath.Abs("../testdata/golden/" + n + ".ctmpl")
		args = append(args, "-template", src+":"+filepath.Join(dir, n))
	}
	err, log, _ := runOnce(t, setup(t, "", args...))
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	for _, n := range names {
		want, _ := os.ReadFile("../testdata/golden/" + n + ".golden")
		if got := read(filepath.Join(dir, n)); got != string(want) {
			t.Errorf("%s from the fixture differs from its golden file:\n%s", n, got)
		}
	}
}

func TestOnceErrors(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "k", "v")
	dir := t.TempDir()
	tmpl := func(name, content string) string { return writeTmpl(t, dir, name, content) }
	closed := func() string {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"a command that fails", []string{"-consul-addr", a.HTTPAddr, "-template", tmpl("ok", `{{ key "k" }}`) + ":" + filepath.Join(dir, "o1") + ":exit 4"},
			"command exit 4: exited with code 4"},
		{"an execution error", []string{"-consul-addr", a.HTTPAddr, "-template", tmpl("bad", "a\n{{ key \"k\" | parseInt }}") + ":" + filepath.Join(dir, "o2")},
			`bad.ctmpl:2:`},
		{"an unreachable API after the retries", []string{"-consul-addr", closed, "-consul-retry-attempts", "1", "-consul-retry-backoff", "10ms",
			"-template", tmpl("k", `{{ key "k" }}`) + ":" + filepath.Join(dir, "o3")},
			"cannot connect to " + closed},
		{"a key that never comes, with fail after", []string{"-consul-addr", a.HTTPAddr, "-missing", "fail after 500ms",
			"-template", tmpl("absent", `{{ key "nope/never" }}{{ keyOrDefault "k" "" }}`) + ":" + filepath.Join(dir, "o4")},
			`absent.ctmpl (waiting 1s): kv.get(nope/never): the key does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err, log, _ := runOnce(t, setup(t, "", append([]string{"-once"}, tc.args...)...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q\n%s", err, tc.want, log)
			}
		})
	}
}

func TestParseErrorAtStartNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	src := writeTmpl(t, dir, "broken", "ok\n{{ nosuch \"x\" }}\n")
	_, err := New(setup(t, "", "-once", "-template", src+":"+filepath.Join(dir, "o")), Options{})
	if err == nil || !strings.Contains(err.Error(), src+`:2: function "nosuch" not defined`) {
		t.Fatalf("error %v", err)
	}
}

// The default policy renders a stand-in for a key that does not exist
// instead of waiting.
func TestOnceMissingDefault(t *testing.T) {
	a := testagent.Start(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "o")
	hcl := fmt.Sprintf(`
consul { address = %q }
template {
  contents = "upstream {{ key \"gone\" }};"
  destination = %q
  missing = "default 127.0.0.1:65535"
}`, a.HTTPAddr, dest)
	err, log, _ := runOnce(t, setup(t, hcl, "-once"))
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := read(dest); got != "upstream 127.0.0.1:65535;" {
		t.Errorf("rendered %q", got)
	}
}

// -once with the default (block) policy waits for a key that appears
// later, and warns meanwhile; an interrupt says what it waited for.
func TestOnceBlocksUntilTheKeyAppears(t *testing.T) {
	a := testagent.Start(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "o")
	src := writeTmpl(t, dir, "late", `{{ key "late/key" }}`)
	r, log, _ := newRunner(t, setup(t, "", "-once", "-consul-addr", a.HTTPAddr, "-template", src+":"+dest))
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	time.Sleep(300 * time.Millisecond)
	var dump syncbuf.Buffer
	r.Dump(&dump)
	if !strings.Contains(dump.String(), "kv.get(late/key): the key does not exist") {
		t.Errorf("status dump does not say what the template waits for:\n%s", dump.String())
	}
	put(t, a, "late/key", "here")
	select {
	case err := <-done:
		if err != nil || read(dest) != "here" {
			t.Fatalf("err %v dest %q\n%s", err, read(dest), log.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("-once did not finish after the key appeared\n%s", log.String())
	}

	r2, _, _ := newRunner(t, setup(t, "", "-once", "-consul-addr", a.HTTPAddr, "-template", writeTmpl(t, dir, "never", `{{ key "never" }}`)+":"+dest))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := r2.Run(ctx)
	var we *WaitError
	if !errors.As(err, &we) || !we.Interrupted || !strings.Contains(err.Error(), "kv.get(never): the key does not exist") {
		t.Fatalf("interrupted -once: %v", err)
	}
}

func TestDryPrintsAndWritesNothing(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "k", "v")
	dir := t.TempDir()
	src := writeTmpl(t, dir, "in", `value={{ key "k" }}`)
	err, log, stdout := runOnce(t, setup(t, "", "-dry", "-once", "-consul-addr", a.HTTPAddr,
		"-template", src, "-template", src+":"+filepath.Join(dir, "dest")+":touch "+filepath.Join(dir, "ran")))
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if want := "value=v> " + filepath.Join(dir, "dest") + "\nvalue=v"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	for _, f := range []string{"dest", "ran"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("-dry must not create %s", f)
		}
	}
}

func TestInPlaceWriteKeepsInode(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "k", "new")
	dir := t.TempDir()
	dest := filepath.Join(dir, "bind.conf")
	write(t, dest, "old content")
	before, _ := os.Stat(dest)
	hcl := fmt.Sprintf(`
consul { address = %q }
template {
  contents = "{{ key \"k\" }}"
  destination = %q
  write_mode = "inplace"
  perms = "0600"
  backup = true
}`, a.HTTPAddr, dest)
	if err, log, _ := runOnce(t, setup(t, hcl, "-once")); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	after, _ := os.Stat(dest)
	if read(dest) != "new" || !os.SameFile(before, after) || after.Mode().Perm() != 0o600 || read(dest+".bak") != "old content" {
		t.Errorf("inplace: content %q same inode %v mode %v backup %q", read(dest), os.SameFile(before, after), after.Mode().Perm(), read(dest+".bak"))
	}
}

// -exec starts the child after the first render, signals it on each
// change, and the run ends with the child's exit code.
func TestExecChild(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "k", "1")
	dir := t.TempDir()
	dest, marks := filepath.Join(dir, "conf"), filepath.Join(dir, "marks")
	// USR1 rather than the usual HUP: an nginx reload elsewhere on a busy
	// machine may send HUP to a PID its stale pid file names, reused.
	script := fmt.Sprintf(`trap 'echo reload $(cat %s) >> %s' USR1; echo start $(cat %s) >> %s; while [ ! -f %s/stop ]; do sleep 0.02; done; exit 3`,
		dest, marks, dest, marks, dir)
	h := startRunner(t, setup(t, "", "-consul-addr", a.HTTPAddr, "-template", writeTmpl(t, dir, "c", `{{ key "k" }}`)+":"+dest,
		"-exec", script, "-exec-reload-signal", "SIGUSR1"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the child marked %q", read(marks))
		}
	})
	eventually(t, 20*time.Second, "the child", func() bool { return read(marks) == "start 1\n" })
	put(t, a, "k", "2")
	eventually(t, 20*time.Second, "the reload signal", func() bool { return read(marks) == "start 1\nreload 2\n" })
	write(t, filepath.Join(dir, "stop"), "")
	select {
	case err := <-h.done:
		var exit *ChildExit
		if !errors.As(err, &exit) || exit.Code != 3 {
			t.Fatalf("run ended with %v, want the child's code 3", err)
		}
		h.done <- err
	case <-time.After(5 * time.Second):
		t.Fatal("the child's exit did not end the run")
	}
	if c := h.r.Child(); c != nil {
		if err := syscall.Kill(c.Pid(), 0); err == nil {
			t.Error("the child is still running")
		}
	}
}

// -once with -exec waits for the child and ends with its code; exec's
// timeout stops a child that runs too long.
func TestOnceExec(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "k", "1")
	dir := t.TempDir()
	src := writeTmpl(t, dir, "c", `{{ key "k" }}`)
	err, log, _ := runOnce(t, setup(t, "", "-once", "-consul-addr", a.HTTPAddr, "-template", src+":"+filepath.Join(dir, "o"), "-exec", "test \"$(cat "+filepath.Join(dir, "o")+")\" = 1 && exit 6"))
	var exit *ChildExit
	if !errors.As(err, &exit) || exit.Code != 6 {
		t.Fatalf("run ended with %v, want the child's code 6\n%s", err, log)
	}
	hcl := `exec {
  command = "trap 'exit 4' TERM; while :; do sleep 0.02; done"
  timeout = "300ms"
}`
	start := time.Now()
	err, log, _ = runOnce(t, setup(t, hcl, "-once", "-consul-addr", a.HTTPAddr, "-template", src+":"+filepath.Join(dir, "o2")))
	if !errors.As(err, &exit) || exit.Code != 4 || time.Since(start) > 5*time.Second {
		t.Fatalf("after the exec timeout: %v after %s\n%s", err, time.Since(start), log)
	}
}
