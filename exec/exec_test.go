package exec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/internal/syncbuf"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

func logger(w *syncbuf.Buffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: w, Level: hclog.Debug})
}

func TestRunLogsOutputWithTheTemplateName(t *testing.T) {
	var out syncbuf.Buffer
	err := Run(context.Background(), Command{Name: "/etc/app.ctmpl", Args: []string{"echo reloaded; echo oops >&2"}, Shell: true}, logger(&out))
	if err != nil {
		t.Fatal(err)
	}
	log := out.String()
	if !strings.Contains(log, "reloaded: template=/etc/app.ctmpl stream=stdout") || !strings.Contains(log, "[WARN]  oops: template=/etc/app.ctmpl stream=stderr") {
		t.Errorf("log:\n%s", log)
	}
}

func TestRunReportsFailure(t *testing.T) {
	var out syncbuf.Buffer
	err := Run(context.Background(), Command{Name: "t", Args: []string{"echo bad config >&2; exit 3"}, Shell: true}, logger(&out))
	if err == nil || !strings.Contains(err.Error(), "exited with code 3: bad config") {
		t.Fatalf("error %v", err)
	}
	err = Run(context.Background(), Command{Name: "t", Args: []string{"/no/such/binary"}}, logger(&out))
	if err == nil || !strings.Contains(err.Error(), "/no/such/binary") {
		t.Fatalf("missing binary: %v", err)
	}
	if err := Run(context.Background(), Command{Name: "t", Args: []string{" "}, Shell: true}, logger(&out)); err == nil {
		t.Fatal("empty command: want an error")
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// A command that outlives its timeout is killed with everything it
// started in its process group.
func TestRunTimeoutKillsTheProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "bg.pid")
	var out syncbuf.Buffer
	start := time.Now()
	err := Run(context.Background(), Command{
		Name:    "t",
		Args:    []string{"sleep 60 & echo $! > " + pidFile + "; wait"},
		Shell:   true,
		Timeout: 300 * time.Millisecond,
	}, logger(&out))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want a timeout", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %s: the command ran on past its timeout", took)
	}
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(20 * time.Second)
	for pid > 0 && alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 || alive(pid) {
		t.Errorf("background process %d of the command survived", pid)
	}
}

// A command that starts a daemon holding its output open returns once
// the command itself is done.
func TestRunDoesNotWaitForDaemons(t *testing.T) {
	var out syncbuf.Buffer
	start := time.Now()
	err := Run(context.Background(), Command{Name: "t", Args: []string{"(sleep 30; echo late) & echo started"}, Shell: true}, logger(&out))
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("waited %s for a background process", took)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var out syncbuf.Buffer
	if err := Run(ctx, Command{Name: "t", Args: []string{"sleep", "30"}}, logger(&out)); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("error %v", err)
	}
}

// waitFor waits for cond, generously: a shell's trap runs only once its
// foreground command ends, late on a busy machine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitfor.Until(t, 30*time.Second, what, cond)
}

func TestChildReloadSignalRestartAndStop(t *testing.T) {
	dir := t.TempDir()
	marks := filepath.Join(dir, "marks")
	// USR1 rather than the usual HUP: an nginx reload elsewhere on a busy
	// machine may send HUP to a PID its stale pid file names, reused.
	script := `trap 'echo usr1 >> ` + marks + `' USR1; trap 'echo term >> ` + marks + `; exit 7' TERM; echo start >> ` + marks + `; while :; do sleep 0.05; done`
	var out syncbuf.Buffer
	c, err := StartChild(ChildConfig{Args: []string{script}, Shell: true, ReloadSignal: syscall.SIGUSR1, KillTimeout: 5 * time.Second, Logger: logger(&out)})
	if err != nil {
		t.Fatal(err)
	}
	read := func() string { b, _ := os.ReadFile(marks); return string(b) }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the child marked %q; its log:\n%s", read(), out.String())
		}
	})
	waitFor(t, "start", func() bool { return read() == "start\n" })
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload signal", func() bool { return read() == "start\nusr1\n" })
	if code := c.Stop(); code != 7 {
		t.Errorf("stop: exit code %d, want the child's 7", code)
	}
	if read() != "start\nusr1\nterm\n" {
		t.Errorf("marks %q", read())
	}
	select {
	case code := <-c.Exited():
		t.Errorf("a stop must not be reported as the child exiting (%d)", code)
	default:
	}
}

func TestChildRestartWithoutReloadSignal(t *testing.T) {
	dir := t.TempDir()
	marks := filepath.Join(dir, "marks")
	var out syncbuf.Buffer
	c, err := StartChild(ChildConfig{Args: []string{"echo $$ >> " + marks + "; exec sleep 60"}, Shell: true, KillTimeout: time.Second, Logger: logger(&out)})
	if err != nil {
		t.Fatal(err)
	}
	lines := func() []string { b, _ := os.ReadFile(marks); return strings.Fields(string(b)) }
	waitFor(t, "start", func() bool { return len(lines()) == 1 })
	first := c.Pid()
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "restart", func() bool { return len(lines()) == 2 })
	if c.Pid() == first || alive(first) {
		t.Errorf("restart must replace process %d", first)
	}
	select {
	case code := <-c.Exited():
		t.Errorf("a restart must not be reported as the child exiting (%d)", code)
	case <-time.After(100 * time.Millisecond):
	}
	c.Stop()
}

func TestChildExitIsReported(t *testing.T) {
	var out syncbuf.Buffer
	c, err := StartChild(ChildConfig{Args: []string{"exit 5"}, Shell: true, Logger: logger(&out)})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-c.Exited():
		if code != 5 {
			t.Errorf("exit code %d, want 5", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("exit not reported")
	}
}

func TestChildKilledAfterTimeout(t *testing.T) {
	var out syncbuf.Buffer
	c, err := StartChild(ChildConfig{Args: []string{"trap '' TERM; while :; do sleep 0.05; done"}, Shell: true, KillTimeout: 300 * time.Millisecond, Logger: logger(&out)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if code := c.Stop(); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want SIGKILL's", code)
	}
}

func TestPlainWords(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"nginx -s reload", []string{"nginx", "-s", "reload"}},
		{"/usr/local/bin/nginx-reload.sh", []string{"/usr/local/bin/nginx-reload.sh"}},
		{"  service redis   restart ", []string{"service", "redis", "restart"}},
		{"systemctl reload nginx.service", []string{"systemctl", "reload", "nginx.service"}},
		{"nginx -t && nginx -s reload", nil},
		{"echo done", nil},
		{"kill -HUP 1", nil},
		{"FOO=1 reload", nil},
		{"reload $PID", nil},
		{"reload 'a b'", nil},
		{"reload > /tmp/out", nil},
		{"reload *.conf", nil},
		{"reload # comment", nil},
		{"", nil},
	} {
		got, ok := plainWords(tc.line)
		if ok != (tc.want != nil) || (ok && strings.Join(got, "|") != strings.Join(tc.want, "|")) {
			t.Errorf("plainWords(%q) = %q, %v; want %q", tc.line, got, ok, tc.want)
		}
	}
}

// A simple command line runs the program without a shell, and what only the
// shell can run (a script without #!, a missing program) still goes to sh.
func TestSimpleCommandsSkipTheShell(t *testing.T) {
	dir := t.TempDir()
	withShebang := filepath.Join(dir, "with.sh")
	os.WriteFile(withShebang, []byte("#!/bin/sh\necho $PPID > "+filepath.Join(dir, "with.ppid")+"\n"), 0o755)
	without := filepath.Join(dir, "without.sh")
	os.WriteFile(without, []byte("echo ran > "+filepath.Join(dir, "without.out")+"\n"), 0o755)

	if cmd := build([]string{withShebang + " arg"}, true); cmd.Path != withShebang || len(cmd.Args) != 2 {
		t.Errorf("a #! script went through %s %q", cmd.Path, cmd.Args)
	}
	if cmd := build([]string{without}, true); cmd.Path != "/bin/sh" {
		t.Errorf("a script without #! ran as %s %q", cmd.Path, cmd.Args)
	}
	if cmd := build([]string{"no-such-program-here"}, true); cmd.Path != "/bin/sh" {
		t.Errorf("a missing program ran as %s %q", cmd.Path, cmd.Args)
	}
	var out syncbuf.Buffer
	if err := Run(context.Background(), Command{Name: "t", Args: []string{without}, Shell: true}, logger(&out)); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), Command{Name: "t", Args: []string{withShebang}, Shell: true}, logger(&out)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "with.ppid")); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("the #! script's parent is %q, not this process", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "without.out")); string(b) != "ran\n" {
		t.Errorf("the script without #! did not run: %q", b)
	}
}
