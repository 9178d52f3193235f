package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// ScriptProbe runs def.ScriptArgs (or the legacy def.Script through sh -c):
// exit 0 is passing, 1 warning, anything else critical. The output is the
// command's combined stdout and stderr. On timeout the whole process group
// is killed.
func ScriptProbe(def *structs.CheckDefinition) (Probe, error) {
	args := def.ScriptArgs
	if len(args) == 0 {
		if def.Script == "" {
			return nil, fmt.Errorf("script check needs args")
		}
		args = []string{"/bin/sh", "-c", def.Script}
	}
	return func(ctx context.Context) (string, string) {
		var out limitedBuffer
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return structs.HealthCritical, fmt.Sprintf("Failed to start %q: %v", args[0], err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			return structs.HealthCritical, fmt.Sprintf("Timed out running check %q: %s", args[0], out.String())
		}
		return exitStatus(err), out.String()
	}, nil
}

// exitStatus maps a script's exit to a check state.
func exitStatus(err error) string {
	if err == nil {
		return structs.HealthPassing
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return structs.HealthWarning
	}
	return structs.HealthCritical
}

// limitedBuffer keeps the first MaxOutput bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := MaxOutput + 1 - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return Truncate(b.Buffer.String()) }

// defaultTimeout applies Consul's default check timeouts.
func defaultTimeout(def *structs.CheckDefinition) time.Duration {
	if def.Timeout > 0 {
		return def.Timeout.D()
	}
	switch def.Type() {
	case structs.CheckTypeScript, structs.CheckTypeDocker:
		return 30 * time.Second
	}
	return 10 * time.Second
}
