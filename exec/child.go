package exec

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// ChildConfig describes the supervised process of -exec.
type ChildConfig struct {
	Args  []string
	Shell bool
	// KillSignal stops the child; after KillTimeout it gets SIGKILL.
	KillSignal  syscall.Signal
	KillTimeout time.Duration
	// ReloadSignal is sent after a render; 0 restarts the child instead.
	ReloadSignal syscall.Signal
	// Splay is the most a reload waits, picked at random, so that many
	// renderers do not reload their children at the same moment.
	Splay time.Duration
	// The child's standard streams; nil means the renderer's own.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Logger         hclog.Logger
}

// Child is a running supervised process.
type Child struct {
	cfg ChildConfig
	log hclog.Logger

	mu      sync.Mutex
	cmd     *osexec.Cmd
	waitErr chan error // the current process's exit
	exited  chan int   // exits the supervisor did not cause
	stopped bool
}

// StartChild starts the process.
func StartChild(cfg ChildConfig) (*Child, error) {
	if len(cfg.Args) == 0 {
		return nil, errors.New("exec: no command")
	}
	if cfg.KillSignal == 0 {
		cfg.KillSignal = syscall.SIGTERM
	}
	if cfg.KillTimeout <= 0 {
		cfg.KillTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	c := &Child{cfg: cfg, log: cfg.Logger, exited: make(chan int, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.startLocked(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Child) startLocked() error {
	cmd := build(c.cfg.Args, c.cfg.Shell)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = or[io.Reader](c.cfg.Stdin, os.Stdin), or[io.Writer](c.cfg.Stdout, os.Stdout), or[io.Writer](c.cfg.Stderr, os.Stderr)
	// Its own group: a Ctrl-C at the terminal reaches the renderer, which
	// decides what the child gets.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", Command{Args: c.cfg.Args, Shell: c.cfg.Shell}, err)
	}
	c.log.Info("child started", "pid", cmd.Process.Pid)
	c.cmd = cmd
	waitErr := make(chan error, 1)
	c.waitErr = waitErr
	go func() {
		err := cmd.Wait()
		waitErr <- err
		c.mu.Lock()
		mine := c.cmd == cmd && !c.stopped
		c.mu.Unlock()
		if mine {
			code := exitCode(err)
			c.log.Info("child exited", "pid", cmd.Process.Pid, "code", code)
			select {
			case c.exited <- code:
			default:
			}
		}
	}()
	return nil
}

func or[T comparable](v, dflt T) T {
	var zero T
	if v == zero {
		return dflt
	}
	return v
}

// Exited delivers the exit code when the child ends by itself.
func (c *Child) Exited() <-chan int { return c.exited }

// Pid is the current process ID.
func (c *Child) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd.Process.Pid
}

// Signal passes sig on to the child.
func (c *Child) Signal(sig os.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	return c.cmd.Process.Signal(sig)
}

// Reload tells the child its files changed: after a random part of Splay,
// the reload signal, or a restart when there is none.
func (c *Child) Reload() error {
	if c.cfg.Splay > 0 {
		time.Sleep(rand.N(c.cfg.Splay))
	}
	if c.cfg.ReloadSignal != 0 {
		c.log.Debug("reloading child", "signal", c.cfg.ReloadSignal)
		return c.Signal(c.cfg.ReloadSignal)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.log.Info("restarting child")
	old, oldWait := c.cmd, c.waitErr
	c.cmd = nil // the old process's exit is ours, not the child's
	c.killLocked(old, oldWait)
	return c.startLocked()
}

// Stop ends the child with the kill signal (SIGKILL after the timeout) and
// returns its exit code.
func (c *Child) Stop() int {
	return c.StopWith(c.cfg.KillSignal)
}

// StopWith is Stop with a given first signal.
func (c *Child) StopWith(sig syscall.Signal) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return 0
	}
	c.stopped = true
	c.cfg.KillSignal = sig
	return c.killLocked(c.cmd, c.waitErr)
}

func (c *Child) killLocked(cmd *osexec.Cmd, waitErr chan error) int {
	cmd.Process.Signal(c.cfg.KillSignal)
	t := time.NewTimer(c.cfg.KillTimeout)
	defer t.Stop()
	select {
	case err := <-waitErr:
		return exitCode(err)
	case <-t.C:
		c.log.Warn("child did not stop in time, killing it", "pid", cmd.Process.Pid, "timeout", c.cfg.KillTimeout)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return exitCode(<-waitErr)
	}
}

// exitCode is the process's exit status, 128+N for a signal N.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *osexec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	return 1
}
