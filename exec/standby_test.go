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

	"github.com/beacon-sd/beacon/internal/syncbuf"
)

// waitingPid is the pid of the shell waiting for the next run, once one
// waits.
func waitingPid(t *testing.T, s *Standby) int {
	t.Helper()
	var pid int
	waitFor(t, "a shell waiting for the next run", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.next != nil {
			pid = s.next.cmd.Process.Pid
		}
		return pid != 0
	})
	return pid
}

// After the first run, each run happens in the shell started for it
// beforehand, and the command cannot tell: no arguments, $0 as under
// sh -c, no trace of how it got its text, stdin at end of file, its
// output logged under the template that ran it, its exit code reported.
func TestStandbyRunsInAWaitingShell(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var log syncbuf.Buffer
	os.Setenv("BEACON_STANDBY_TEST", "kept")
	defer os.Unsetenv("BEACON_STANDBY_TEST")
	s := NewStandby(Command{Args: []string{
		`echo "$$ $# $0 ${BEACON_STANDBY_TEST:-} ${` + standbyVar + `:-unset}" >` + out + `; cat; echo said "hello 'there'"`,
	}, Shell: true, Timeout: 5 * time.Second}, logger(&log))
	defer s.Close()

	if err := s.Run(context.Background(), "first.ctmpl"); err != nil {
		t.Fatal(err)
	}
	cold, _ := os.ReadFile(out)
	for i := 0; i < 3; i++ {
		pid := waitingPid(t, s)
		if err := s.Run(context.Background(), "second.ctmpl"); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(out)
		f := strings.Fields(string(b))
		if len(f) != 5 || f[0] != strconv.Itoa(pid) {
			t.Fatalf("run %d: the command reported %q; want it run by the waiting shell %d", i, b, pid)
		}
		if got, want := strings.Join(f[1:], " "), strings.Join(strings.Fields(string(cold))[1:], " "); got != want {
			t.Errorf("run %d: the command saw %q from the waiting shell and %q when started afresh", i, got, want)
		}
		if want := "0 /bin/sh kept unset"; strings.Join(f[1:], " ") != want {
			t.Errorf("run %d: the command saw %q, want %q", i, strings.Join(f[1:], " "), want)
		}
	}
	if l := log.String(); !strings.Contains(l, `said hello 'there': template=second.ctmpl stream=stdout`) {
		t.Errorf("output not logged under the template that ran it:\n%s", l)
	}

	fail := NewStandby(Command{Args: []string{"echo broken >&2; exit 3"}, Shell: true}, logger(&log))
	defer fail.Close()
	for i := 0; i < 2; i++ {
		if i == 1 {
			waitingPid(t, fail)
		}
		if err := fail.Run(context.Background(), "t"); err == nil || !strings.Contains(err.Error(), "exited with code 3: broken") {
			t.Errorf("run %d: error %v", i, err)
		}
	}
}

// An argument list is started afresh each time, exactly as Run starts it:
// no shell waits for it.
func TestStandbyArgumentList(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "args.sh")
	out := filepath.Join(dir, "out")
	os.WriteFile(script, []byte("#!/bin/sh\nprintf '[%s]' \"$@\" >"+out+"\n"), 0o755)
	var log syncbuf.Buffer
	s := NewStandby(Command{Args: []string{script, "a b", "it's", "$HOME"}}, logger(&log))
	defer s.Close()
	for i := 0; i < 2; i++ {
		if err := s.Run(context.Background(), "t"); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(out); string(b) != "[a b][it's][$HOME]" {
			t.Errorf("run %d: arguments %s", i, b)
		}
		time.Sleep(50 * time.Millisecond)
		s.mu.Lock()
		waiting := s.next != nil || s.filling
		s.mu.Unlock()
		if waiting {
			t.Fatal("a shell waits for an argument list")
		}
	}
}

// What the shell itself runs (a builtin such as ., a program it would
// not find) runs in the waiting shell as under sh -c, not through exec.
func TestStandbyShellBuiltins(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.WriteFile(filepath.Join(dir, "lib.sh"), []byte("echo sourced >>"+out+"\n"), 0o644)
	var log syncbuf.Buffer
	s := NewStandby(Command{Args: []string{". " + filepath.Join(dir, "lib.sh")}, Shell: true}, logger(&log))
	defer s.Close()
	missing := NewStandby(Command{Args: []string{"no-such-program-here"}, Shell: true}, logger(&log))
	defer missing.Close()
	for i := 0; i < 2; i++ {
		if i == 1 {
			waitingPid(t, s)
			waitingPid(t, missing)
		}
		if err := s.Run(context.Background(), "t"); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		err := missing.Run(context.Background(), "t")
		if err == nil || !strings.Contains(err.Error(), "exited with code 127") || strings.Contains(err.Error(), "exec:") {
			t.Errorf("run %d of a missing program: %v, want sh's own code 127", i, err)
		}
	}
	if b, _ := os.ReadFile(out); string(b) != "sourced\nsourced\n" {
		t.Errorf("sourced %q, want twice", b)
	}
}

// A waiting shell killed from outside costs nothing but the head start:
// the run starts the command afresh.
func TestStandbyShellKilledFromOutside(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var log syncbuf.Buffer
	s := NewStandby(Command{Args: []string{"echo ran >>" + out}, Shell: true}, logger(&log))
	defer s.Close()
	if err := s.Run(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	pid := waitingPid(t, s)
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, "the shell to die", func() bool {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return len(b) == 0 || strings.Contains(string(b), ") Z ")
	})
	if err := s.Run(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "ran\nran\n" {
		t.Errorf("output %q, want two runs", b)
	}
	waitingPid(t, s)
}

// A timeout ends the command's whole process group, as with Run; Close
// ends the waiting shell without running the command.
func TestStandbyTimeoutAndClose(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	pidFile := filepath.Join(dir, "bg.pid")
	var log syncbuf.Buffer
	s := NewStandby(Command{
		Args:    []string{"echo x >>" + count + "; sleep 60 & echo $! >" + pidFile + "; wait"},
		Shell:   true,
		Timeout: 300 * time.Millisecond,
	}, logger(&log))
	for i := 0; i < 2; i++ {
		if i == 1 {
			waitingPid(t, s)
		}
		if err := s.Run(context.Background(), "t"); !errors.Is(err, ErrTimeout) {
			t.Fatalf("run %d: error %v, want a timeout", i, err)
		}
		b, _ := os.ReadFile(pidFile)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		waitFor(t, "the background process to be killed", func() bool { return pid > 0 && !alive(pid) })
	}
	pid := waitingPid(t, s)
	s.Close()
	if alive(pid) {
		t.Errorf("the waiting shell %d outlived Close", pid)
	}
	if b, _ := os.ReadFile(count); string(b) != "x\nx\n" {
		t.Errorf("the command ran %q times, want exactly the two runs", b)
	}
	// After Close, runs still work, each started afresh.
	s.c.Timeout = 0
	s.c.Args = []string{"true"}
	if err := s.Run(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next != nil || s.filling {
		t.Error("a closed Standby started another shell")
	}
}
