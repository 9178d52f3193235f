package exec

import (
	"context"
	"os"
	osexec "os/exec"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// standbyVar carries the command text into the waiting shell, which
// removes it from its environment before it runs the command.
const standbyVar = "__beacon_command"

// standbyScript waits for a line on stdin (end of file: give up quietly),
// then runs the command as sh -c would: no arguments, and the variable
// that carried it gone.
const standbyScript = `read -r _ || exit 0; eval "unset ` + standbyVar + `; $` + standbyVar + `"`

// A Standby runs one command over and over, each time in a shell it
// started beforehand that waits on a pipe for the word to go. Starting sh
// costs about a millisecond (more on a busy machine); with a shell
// waiting, a run costs a write to a pipe, and the command starts that
// much sooner after the render that calls for it. Between runs one idle
// sh process waits per Standby.
//
// The command sees what it would under sh -c or a direct start: the same
// environment (taken when the shell started, and the renderer's does not
// change), no arguments, its own process group, and a standard input at
// end of file. The first run, and any run that finds no shell waiting (it
// is still starting, or died), starts the command as Run does.
type Standby struct {
	c   Command
	log hclog.Logger

	mu      sync.Mutex
	next    *proc
	nextIn  *os.File // the write end of next's stdin
	filling bool
	closed  bool
}

// NewStandby prepares c to be run repeatedly; the first shell is started
// after the first run. Only a shell command (Shell) gets a waiting shell:
// an argument list is started afresh each time, exactly as Run starts it.
func NewStandby(c Command, log hclog.Logger) *Standby {
	return &Standby{c: c, log: log, closed: !c.Shell}
}

// Run runs the command like Run, under name in logs and errors, and then
// starts the shell for the next run.
func (s *Standby) Run(ctx context.Context, name string) error {
	c := s.c
	c.Name = name
	if err := c.check(); err != nil {
		return err
	}
	defer s.fill()
	if p := s.take(c); p != nil {
		return p.wait(ctx)
	}
	return Run(ctx, c, s.log)
}

// take hands over the waiting shell, told to go, or nil when none waits.
func (s *Standby) take(c Command) *proc {
	s.mu.Lock()
	p, in := s.next, s.nextIn
	s.next, s.nextIn = nil, nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	p.c = c
	p.out.rename(c.Name)
	p.errOut.rename(c.Name)
	_, err := in.Write([]byte("\n"))
	in.Close() // the command's stdin ends here
	if err != nil {
		// The shell is gone (killed from outside): reap it.
		s.log.Debug("the waiting shell had ended; starting the command afresh", "command", c.String(), "error", err)
		<-p.done
		return nil
	}
	return p
}

// fill starts the next waiting shell in the background.
func (s *Standby) fill() {
	s.mu.Lock()
	if s.closed || s.filling || s.next != nil {
		s.mu.Unlock()
		return
	}
	s.filling = true
	s.mu.Unlock()
	go func() {
		p, in, err := s.startWaiting()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.filling = false
		if err != nil {
			s.log.Debug("no shell waits for the next run", "command", s.c.String(), "error", err)
			return
		}
		if s.closed {
			in.Close()
			<-p.done
			return
		}
		s.next, s.nextIn = p, in
	}()
}

func (s *Standby) startWaiting() (*proc, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd := osexec.Command("/bin/sh", "-c", standbyScript)
	c := s.c
	c.Env = append(append([]string(nil), c.Env...), standbyVar+"="+s.text())
	p, err := start(c, cmd, r, s.log)
	r.Close()
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return p, w, nil
}

// text is the command as the waiting shell evaluates it: as written,
// except that a program Run would start directly (see build) is exec'd,
// so that it runs as one process there too.
func (s *Standby) text() string {
	line := s.c.Args[0]
	if words, ok := plainWords(line); ok && directlyRunnable(words[0]) {
		return "exec " + line
	}
	return line
}

// Close ends the waiting shell, if any; later runs start the command
// afresh each time.
func (s *Standby) Close() {
	s.mu.Lock()
	s.closed = true
	p, in := s.next, s.nextIn
	s.next, s.nextIn = nil, nil
	s.mu.Unlock()
	if p != nil {
		in.Close() // end of file: the shell exits without running anything
		<-p.done
	}
}
