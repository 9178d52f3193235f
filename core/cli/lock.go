package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/outcome"
)

// killGrace is how long a child has to exit after SIGTERM before SIGKILL.
var killGrace = 5 * time.Second

// lockCommand is `beacon lock [options] PREFIX CHILD...`.
func lockCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("lock", "beacon lock [options] PREFIX CHILD...", `
Acquires a lock (or with -n > 1 a semaphore slot) under PREFIX in the KV
store, runs CHILD while holding it with CONSUL_LOCK_HELD=true in its
environment, and releases it when CHILD exits. If the lock is lost CHILD gets
SIGTERM, then SIGKILL after 5 seconds. Exits with CHILD's exit code.`, stderr)
	var hf httpFlags
	hf.register(fs)
	limit := fs.Int("n", 1, "Number of lock holders; above 1 a semaphore is used. All holders of PREFIX must agree.")
	name := fs.String("name", "", "Name of the lock session; generated from CHILD when empty.")
	passStdin := fs.Bool("pass-stdin", false, "Pass standard input to CHILD.")
	shell := fs.Bool("shell", true, "Run CHILD through $SHELL -c (default /bin/sh); false runs it directly.")
	var timeout time.Duration
	fs.DurationVar(&timeout, "timeout", 0, "Give up acquiring the lock after this long; 0 waits forever.")
	fs.DurationVar(&timeout, "try", 0, "Same as -timeout.")
	monitorRetry := fs.Int("monitor-retry", 3, "Times to retry when the agent answers 500 while the lock is monitored; 0 disables.")
	verbose := fs.Bool("verbose", false, "Report each step on standard error.")
	fs.Bool("child-exit-code", false, "Accepted for compatibility; CHILD's exit code is always returned.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	// The child writes to these too, from exec's copying goroutines.
	stdout, stderr = syncWriter(stdout), syncWriter(stderr)
	if fs.NArg() < 2 {
		fmt.Fprintln(stderr, "Error! Lock PREFIX and CHILD are required")
		return 1
	}
	if *limit < 1 {
		fmt.Fprintf(stderr, "Error! -n must be at least 1, not %d\n", *limit)
		return 1
	}
	if *monitorRetry < 0 {
		fmt.Fprintf(stderr, "Error! -monitor-retry must not be negative, not %d\n", *monitorRetry)
		return 1
	}
	prefix := strings.TrimPrefix(fs.Arg(0), "/")
	child := fs.Args()[1:]
	if *name == "" {
		*name = fmt.Sprintf("Consul lock for '%s' at '%s'", strings.Join(child, " "), prefix)
	}
	logf := func(format string, a ...interface{}) {
		if *verbose {
			fmt.Fprintf(stderr, format+"\n", a...)
		}
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	h, err := newLockHandle(client, prefix, *limit, *name, timeout, *monitorRetry)
	if err != nil {
		fmt.Fprintf(stderr, "Error! Lock setup at %s failed: %s\n", prefix, err)
		return 1
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	logf("Attempting lock acquisition at %s", prefix)
	lost, interrupted, err := acquireInterruptible(h, sigs)
	if acquireUnknown(err) {
		// Not tried again as if refused: it may be held now, by a session
		// nobody renews any more, until that session's TTL runs out.
		fmt.Fprintf(stderr, "Lock acquisition at %s may or may not have succeeded; if it did, the lock is released when its session expires: %s\n", prefix, err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "Lock acquisition failed: %s\n", err)
		return 1
	}
	if lost == nil {
		if interrupted {
			h.release() // in case it was acquired as the signal came
		}
		fmt.Fprintln(stderr, "Shutdown triggered or timeout during lock acquisition")
		return 1
	}
	logf("Lock acquired, starting child")

	cmd := childCommand(child, *shell)
	cmd.Env = append(os.Environ(), "CONSUL_LOCK_HELD=true")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if *passStdin {
		cmd.Stdin = stdin
	}
	code, lockLost := runChild(cmd, sigs, lost, stderr)
	logf("Child exited with code %d", code)

	if err := h.release(); err != nil && !lockLost {
		fmt.Fprintf(stderr, "Lock release failed: %s\n", err)
		return 1
	}
	if err := h.cleanup(); err != nil {
		logf("Lock cleanup skipped: %s", err)
	}
	logf("Lock released")
	if lockLost && code == 0 {
		return 1
	}
	return code
}

// syncWriter makes w safe for concurrent writes. Files are returned as they
// are so that a child inherits them directly.
func syncWriter(w io.Writer) io.Writer {
	if _, ok := w.(*os.File); ok {
		return w
	}
	return &lockedWriter{w: w}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// lockHandle is a lock or a semaphore behind one set of operations.
type lockHandle struct {
	acquire func(stop <-chan struct{}) (<-chan struct{}, error)
	release func() error
	cleanup func() error // removes the KV entry when nobody else uses it
}

// newLockHandle sets up a lock on PREFIX/.lock (limit 1) or a semaphore
// under PREFIX (limit > 1).
func newLockHandle(c *api.Client, prefix string, limit int, name string, timeout time.Duration, retries int) (*lockHandle, error) {
	if limit == 1 {
		opts := &api.LockOptions{
			Key:              path.Join(prefix, ".lock"),
			SessionName:      name,
			MonitorRetries:   retries,
			MonitorRetryTime: time.Second,
		}
		if timeout > 0 {
			opts.LockTryOnce, opts.LockWaitTime = true, timeout
		}
		l, err := c.LockOpts(opts)
		if err != nil {
			return nil, err
		}
		return &lockHandle{
			acquire: l.Lock,
			release: l.Unlock,
			cleanup: func() error { return ignore(l.Destroy(), api.ErrLockInUse) },
		}, nil
	}
	opts := &api.SemaphoreOptions{
		Prefix:           prefix,
		Limit:            limit,
		SessionName:      name,
		MonitorRetries:   retries,
		MonitorRetryTime: time.Second,
	}
	if timeout > 0 {
		opts.SemaphoreTryOnce, opts.SemaphoreWaitTime = true, timeout
	}
	s, err := c.SemaphoreOpts(opts)
	if err != nil {
		return nil, err
	}
	return &lockHandle{
		acquire: s.Acquire,
		release: s.Release,
		cleanup: func() error { return ignore(s.Destroy(), api.ErrSemaphoreInUse) },
	}, nil
}

// acquireUnknown reports whether err, from acquiring, leaves open whether
// the lock or semaphore slot was taken: the write that takes it failed
// without an answer saying it was not applied. The client words those
// failures with these prefixes.
func acquireUnknown(err error) bool {
	if err == nil {
		return false
	}
	for _, p := range []string{"failed to acquire lock: ", "failed to update lock: ", "failed to make contender entry: "} {
		if rest, ok := strings.CutPrefix(err.Error(), p); ok {
			return outcome.Of(errors.New(rest)) == outcome.Unknown
		}
	}
	return false
}

func ignore(err, harmless error) error {
	if errors.Is(err, harmless) {
		return nil
	}
	return err
}

// acquireInterruptible acquires h, giving up when a signal arrives on sigs.
// A nil lost channel with a nil error means the lock was not acquired.
func acquireInterruptible(h *lockHandle, sigs <-chan os.Signal) (lost <-chan struct{}, interrupted bool, err error) {
	stop := make(chan struct{})
	acquired := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-sigs:
			interrupted = true
			close(stop)
		case <-acquired:
		}
	}()
	lost, err = h.acquire(stop)
	close(acquired)
	<-watched
	if interrupted && lost != nil {
		return nil, true, err
	}
	return lost, interrupted, err
}

// childCommand builds the command for CHILD: through the user's shell with
// -c when shell is set, otherwise executed directly.
func childCommand(child []string, shell bool) *exec.Cmd {
	if !shell {
		return exec.Command(child[0], child[1:]...)
	}
	sh := os.Getenv("SHELL")
	if sh == "" {
		sh = "/bin/sh"
	}
	return exec.Command(sh, "-c", strings.Join(child, " "))
}

// runChild starts cmd and waits for it, forwarding signals from sigs. When
// lost is closed the child gets SIGTERM, then SIGKILL after killGrace. It
// returns the child's exit code (128+signal when killed by one) and whether
// the lock was lost.
func runChild(cmd *exec.Cmd, sigs <-chan os.Signal, lost <-chan struct{}, stderr io.Writer) (code int, lockLost bool) {
	cmd.WaitDelay = killGrace
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "Error starting child %s: %s\n", cmd.Path, err)
		return 1, false
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var kill <-chan time.Time
	for {
		select {
		case sig := <-sigs:
			_ = cmd.Process.Signal(sig)
		case <-lost:
			fmt.Fprintln(stderr, "Lock lost, killing child")
			lockLost, lost = true, nil
			_ = cmd.Process.Signal(syscall.SIGTERM)
			kill = time.After(killGrace)
		case <-kill:
			_ = cmd.Process.Kill()
			kill = nil
		case err := <-done:
			return exitCode(err), lockLost
		}
	}
}

// exitCode turns the result of Wait into a shell-style exit code.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		if c := ee.ExitCode(); c >= 0 {
			return c
		}
	}
	return 1
}
