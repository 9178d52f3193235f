package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestChildCommand(t *testing.T) {
	t.Setenv("SHELL", "")
	cmd := childCommand([]string{"echo", "a b", "$HOME"}, true)
	if got := strings.Join(cmd.Args, "|"); got != "/bin/sh|-c|echo a b $HOME" {
		t.Errorf("shell args = %q", got)
	}
	t.Setenv("SHELL", "/bin/bash")
	if cmd := childCommand([]string{"true"}, true); cmd.Args[0] != "/bin/bash" {
		t.Errorf("shell = %q, want $SHELL", cmd.Args[0])
	}
	cmd = childCommand([]string{"echo", "a b"}, false)
	if got := strings.Join(cmd.Args, "|"); got != "echo|a b" {
		t.Errorf("direct args = %q", got)
	}
}

func TestRunChildExitCode(t *testing.T) {
	t.Setenv("SHELL", "")
	var out, errOut bytes.Buffer
	cmd := childCommand([]string{"echo hello; exit 3"}, true)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code, lost := runChild(cmd, nil, nil, &errOut)
	if code != 3 || lost {
		t.Errorf("code %d lost %v, want 3 false", code, lost)
	}
	if out.String() != "hello\n" {
		t.Errorf("stdout %q", out.String())
	}
}

func TestRunChildStartFailure(t *testing.T) {
	var errOut bytes.Buffer
	cmd := childCommand([]string{"/nonexistent/program"}, false)
	code, _ := runChild(cmd, nil, nil, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "/nonexistent/program") {
		t.Errorf("code %d stderr %q", code, errOut.String())
	}
}

func TestRunChildLockLost(t *testing.T) {
	old := killGrace
	killGrace = 200 * time.Millisecond
	t.Cleanup(func() { killGrace = old })

	// The child ignores SIGTERM, so it takes SIGKILL after the grace period.
	cmd := exec.Command("/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	lost := make(chan struct{})
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(lost)
	}()
	start := time.Now()
	code, wasLost := runChild(cmd, nil, lost, &errOut)
	if !wasLost {
		t.Error("lock loss not reported")
	}
	if code != 128+int(syscall.SIGKILL) {
		t.Errorf("code = %d, want %d", code, 128+int(syscall.SIGKILL))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("child took %s to stop", d)
	}
	if !strings.Contains(errOut.String(), "Lock lost, killing child") {
		t.Errorf("stderr %q", errOut.String())
	}
}

func TestRunChildForwardsSignals(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "trap 'exit 7' INT; while :; do sleep 0.05; done")
	var childOut, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &childOut, &childOut
	sigs := make(chan os.Signal, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		sigs <- os.Interrupt
	}()
	code, lost := runChild(cmd, sigs, nil, &errOut)
	if code != 7 || lost {
		t.Errorf("code %d lost %v, want 7 false", code, lost)
	}
}

func TestExitCode(t *testing.T) {
	if exitCode(nil) != 0 {
		t.Error("nil error is not 0")
	}
	if exitCode(errors.New("boom")) != 1 {
		t.Error("plain error is not 1")
	}
	err := exec.Command("/bin/sh", "-c", "exit 42").Run()
	if exitCode(err) != 42 {
		t.Errorf("exitCode = %d, want 42", exitCode(err))
	}
	err = exec.Command("/bin/sh", "-c", "kill -TERM $$").Run()
	if exitCode(err) != 128+int(syscall.SIGTERM) {
		t.Errorf("exitCode = %d, want %d", exitCode(err), 128+int(syscall.SIGTERM))
	}
}

func TestLockArgErrors(t *testing.T) {
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{}, "PREFIX and CHILD are required"},
		{[]string{"locks/x"}, "PREFIX and CHILD are required"},
		{[]string{"-n", "0", "locks/x", "true"}, "-n must be at least 1"},
		{[]string{"-monitor-retry", "-1", "locks/x", "true"}, "-monitor-retry must not be negative"},
		{[]string{"-timeout", "soon", "locks/x", "true"}, "invalid value"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runArgs(append([]string{"beacon", "lock"}, tc.args...)...)
			if code != 1 || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("code %d stderr %q, want 1 and %q", code, errOut, tc.stderr)
			}
		})
	}
}
