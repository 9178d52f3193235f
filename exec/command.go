// Package exec runs the processes the template renderer starts: reload
// commands (through sh -c, in their own process group, killed as a group
// on timeout, their output logged line by line; a Standby keeps a shell
// waiting for a command's next run) and the supervised child
// of -exec (reloaded by a signal or restarted after a render, stopped with
// the kill signal and a grace period, its exit code passed on).
package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// killGrace is how long a timed-out command's group has between SIGTERM
// and SIGKILL.
const killGrace = 2 * time.Second

// Command is one command to run to completion.
type Command struct {
	// Name says whose command it is in logs (the template).
	Name string
	// Args is the argument list; with Shell, Args[0] is a script for
	// sh -c.
	Args  []string
	Shell bool
	// Timeout ends the command (its whole process group); 0 means none.
	Timeout time.Duration
	// Env is added to the renderer's environment.
	Env []string
	// Stdin is the command's standard input; nil means /dev/null.
	Stdin []byte
	// Stdout and Stderr, when set, receive the command's output instead
	// of the log.
	Stdout, Stderr io.Writer
	// Owner is the log field that Name is logged under; "template" when
	// empty.
	Owner string
}

// String is the command as a user wrote it.
func (c Command) String() string {
	if c.Shell && len(c.Args) > 0 {
		return c.Args[0]
	}
	return strings.Join(c.Args, " ")
}

// ErrTimeout is wrapped by the error of a command that ran out of time.
var ErrTimeout = errors.New("timed out")

// Run runs c and waits for it. Its output goes to log, a line per entry,
// at info level for stdout and warn for stderr. A non-zero exit, a
// timeout or a cancelled ctx is an error that says which.
func Run(ctx context.Context, c Command, log hclog.Logger) error {
	if err := c.check(); err != nil {
		return err
	}
	p, err := start(c, build(c.Args, c.Shell), nil, log)
	if err != nil {
		return err
	}
	return p.wait(ctx)
}

func (c Command) check() error {
	if len(c.Args) == 0 || c.Shell && strings.TrimSpace(c.Args[0]) == "" {
		return errors.New("empty command")
	}
	return nil
}

// proc is a started command whose output is being logged.
type proc struct {
	c           Command
	cmd         *osexec.Cmd
	out, errOut *lineLogger
	done        chan error
}

// start starts cmd for c in its own process group, with stdin as its
// standard input (nil: /dev/null).
func start(c Command, cmd *osexec.Cmd, stdin *os.File, log hclog.Logger) (*proc, error) {
	cmd.Env = append(cmd.Environ(), c.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if stdin != nil {
		cmd.Stdin = stdin
	} else if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	owner := c.Owner
	if owner == "" {
		owner = "template"
	}
	p := &proc{
		c: c, cmd: cmd, done: make(chan error, 1),
		out:    newLineLogger(log, hclog.Info, owner, c.Name, "stdout"),
		errOut: newLineLogger(log, hclog.Warn, owner, c.Name, "stderr"),
	}
	cmd.Stdout, cmd.Stderr = p.out, p.errOut
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	if c.Stderr != nil {
		cmd.Stderr = c.Stderr
	}
	// A command that starts a daemon which keeps the output pipes open
	// must not hold us up once the command itself is done.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

// wait waits for the command to end, within its timeout and ctx, and
// says how it ended.
func (p *proc) wait(ctx context.Context) error {
	c := p.c
	var timeout <-chan time.Time
	if c.Timeout > 0 {
		t := time.NewTimer(c.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case err = <-p.done:
	case <-timeout:
		killGroup(p.cmd, p.done)
		err = fmt.Errorf("%s: %w after %s; its process group was killed", c, ErrTimeout, c.Timeout)
	case <-ctx.Done():
		killGroup(p.cmd, p.done)
		err = fmt.Errorf("%s: stopped: %w", c, ctx.Err())
	}
	p.out.Flush()
	p.errOut.Flush()
	var exit *osexec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("%s: exited with %s%s", c, exitText(exit), p.errOut.tail())
	}
	if errors.Is(err, osexec.ErrWaitDelay) {
		return nil
	}
	return err
}

func build(args []string, shell bool) *osexec.Cmd {
	if shell {
		if words, ok := plainWords(args[0]); ok && directlyRunnable(words[0]) {
			// The shell would only split it on spaces: start the program
			// itself, a fork and exec of sh sooner.
			return osexec.Command(words[0], words[1:]...)
		}
		return osexec.Command("/bin/sh", "-c", args[0])
	}
	return osexec.Command(args[0], args[1:]...)
}

// plainWords splits a command line on spaces when nothing in it means
// anything to a shell beyond that: no quotes, escapes, variables, globs,
// redirections, pipes, lists, comments or assignments. The first word must
// be a program name or path, not a shell keyword or builtin.
func plainWords(line string) ([]string, bool) {
	for _, r := range line {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(" _-./,:+@%", r):
		default:
			return nil, false
		}
	}
	words := strings.Fields(line)
	if len(words) == 0 || strings.Contains(words[0], "=") || strings.ContainsAny(words[0], ",:+@%") {
		return nil, false
	}
	if shellWords[words[0]] {
		return nil, false
	}
	return words, true
}

// directlyRunnable reports whether the kernel can run the program itself:
// found on PATH (or by its path) and an executable format or a script with
// a #! line. sh also runs a script without one, so those stay with sh, as
// does a missing program, so that its error reads as the shell's.
func directlyRunnable(name string) bool {
	path, err := osexec.LookPath(name)
	if err != nil {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return false
	}
	return string(magic[:2]) == "#!" || string(magic[:]) == "\x7fELF"
}

// shellWords are names sh resolves itself rather than through PATH.
var shellWords = map[string]bool{
	"alias": true, "bg": true, "break": true, "cd": true, "command": true, "continue": true,
	".": true, "eval": true, "exec": true, "exit": true, "export": true, "false": true, "fc": true,
	"fg": true, "getopts": true, "hash": true, "jobs": true, "kill": true, "pwd": true,
	"read": true, "readonly": true, "return": true, "set": true, "shift": true, "times": true,
	"trap": true, "true": true, "type": true, "ulimit": true, "umask": true, "unalias": true,
	"unset": true, "wait": true, "echo": true, "printf": true, "test": true, "local": true,
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "case": true,
	"esac": true, "for": true, "while": true, "until": true, "do": true, "done": true,
	"in": true, "function": true, "select": true, "time": true, "source": true,
}

// killGroup ends the command's process group: SIGTERM, then SIGKILL after
// killGrace, and waits for the command.
func killGroup(cmd *osexec.Cmd, done <-chan error) {
	pgid := -cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(killGrace):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-done
	}
	// Anything the command left in its group goes too.
	syscall.Kill(pgid, syscall.SIGKILL)
}

func exitText(e *osexec.ExitError) string {
	if ws, ok := e.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return fmt.Sprintf("code %d", e.ExitCode())
}

// lineLogger logs what a process writes, one entry per line, and keeps the
// last lines for error messages.
type lineLogger struct {
	log    hclog.Logger
	level  hclog.Level
	owner  string // the log field name is logged under
	name   string
	stream string
	mu     sync.Mutex
	buf    bytes.Buffer
	last   []string
}

func newLineLogger(log hclog.Logger, level hclog.Level, owner, name, stream string) *lineLogger {
	return &lineLogger{log: log, level: level, owner: owner, name: name, stream: stream}
}

// rename says whose command the following lines are.
func (l *lineLogger) rename(name string) {
	l.mu.Lock()
	l.name = name
	l.mu.Unlock()
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err == io.EOF {
			l.buf.WriteString(line) // an unfinished line waits for the rest
			break
		}
		l.emit(strings.TrimRight(line, "\r\n"))
	}
	return len(p), nil
}

// Flush logs an unfinished last line.
func (l *lineLogger) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.emit(l.buf.String())
		l.buf.Reset()
	}
}

func (l *lineLogger) emit(line string) {
	l.log.Log(l.level, line, l.owner, l.name, "stream", l.stream)
	l.last = append(l.last, line)
	if len(l.last) > 3 {
		l.last = l.last[1:]
	}
}

// tail is the last lines of output as a suffix for an error message.
func (l *lineLogger) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.last) == 0 {
		return ""
	}
	return ": " + strings.Join(l.last, " | ")
}
