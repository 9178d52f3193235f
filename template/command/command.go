// Package command is `beacon template` (and the binary run as
// consul-template): it reads flags, environment and config files, runs
// the renderer, and handles signals (reload, stop, status dump,
// forwarding to the -exec child), the pid file, syslog and exit codes.
package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/version"
	"github.com/beacon-sd/beacon/template/config"
	"github.com/beacon-sd/beacon/template/runner"
)

// Exit codes, consul-template's.
const (
	ExitOK        = 0
	ExitError     = 11
	ExitInterrupt = 12
	ExitFlags     = 13
	ExitRunner    = 14
	ExitConfig    = 15
)

// gcPercent is the garbage collector's target unless GOGC says otherwise.
const gcPercent = 50

// Env is what the command reads and writes besides its arguments.
type Env struct {
	Stdout, Stderr io.Writer
	// Signals delivers the signals the command reacts to; nil subscribes
	// to the process's own.
	Signals <-chan os.Signal
	// LookupEnv reads environment variables; nil is os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Run is `beacon template ARGS`, with the process's signals and
// environment.
func Run(args []string, stdout, stderr io.Writer) int {
	return RunEnv(args, Env{Stdout: stdout, Stderr: stderr})
}

// RunEnv is Run with an explicit environment.
func RunEnv(args []string, e Env) int {
	if e.LookupEnv == nil {
		e.LookupEnv = os.LookupEnv
	}
	if _, set := e.LookupEnv("GOGC"); !set {
		// A sidecar should stay small: collect at 1.5x the live heap
		// rather than 2x. GOGC still decides when set.
		debug.SetGCPercent(gcPercent)
	}
	flagCfg, cli, err := config.ParseFlags(args, e.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "template: %v\n", err)
		return ExitFlags
	}
	if cli.Version {
		fmt.Fprintln(e.Stdout, version.String())
		return ExitOK
	}
	cfg, err := load(cli.ConfigPaths, flagCfg, e.LookupEnv)
	if err != nil {
		fmt.Fprintf(e.Stderr, "template: %v\n", err)
		return ExitConfig
	}
	log, closeLog, err := newLogger(cfg, e.Stderr)
	if err != nil {
		fmt.Fprintf(e.Stderr, "template: %v\n", err)
		return ExitConfig
	}
	defer closeLog()
	if *cfg.PidFile != "" {
		if err := writePidFile(*cfg.PidFile); err != nil {
			log.Error("writing the pid file", "error", err)
			return ExitConfig
		}
		defer removePidFile(*cfg.PidFile)
	}
	r, err := runner.New(cfg, runner.Options{Logger: log, Stdout: e.Stdout})
	if err != nil {
		log.Error(err.Error())
		if errors.Is(err, runner.ErrNoTemplates) {
			return ExitConfig
		}
		return ExitRunner
	}
	sigs := e.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 8)
		signal.Notify(ch, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT,
			syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(ch)
		sigs = ch
	}
	s := &session{cfg: cfg, cli: cli, flags: flagCfg, env: e, log: log}
	return s.loop(r, sigs)
}

// load merges environment < config files (in order) < flags.
func load(paths []string, flags *config.Config, lookup func(string) (string, bool)) (*config.Config, error) {
	files, err := config.LoadPaths(paths)
	if err != nil {
		return nil, err
	}
	cfg := config.FromEnv(lookup).Merge(files).Merge(flags)
	if err := cfg.Finalize(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// session is one invocation: the runner of the moment, replaced on reload.
type session struct {
	cfg   *config.Config
	cli   *config.CLI
	flags *config.Config
	env   Env
	log   hclog.Logger
}

type running struct {
	r      *runner.Runner
	cancel context.CancelFunc
	done   chan error
}

func start(r *runner.Runner) *running {
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	return run
}

func (run *running) stop() error {
	run.cancel()
	return <-run.done
}

func (s *session) loop(r *runner.Runner, sigs <-chan os.Signal) int {
	run := start(r)
	for {
		select {
		case err := <-run.done:
			return s.exitCode(err, run.r)
		case sig := <-sigs:
			switch {
			case s.isReload(sig):
				if child := run.r.Child(); child != nil {
					child.Signal(sig)
				}
				if next := s.reload(run); next != nil {
					run = next
				}
			case sig == syscall.SIGINT || sig == syscall.SIGTERM || s.isKill(sig):
				s.log.Info("stopping", "signal", sig)
				err := run.stop()
				if child := run.r.Child(); child != nil {
					return child.StopWith(sig.(syscall.Signal))
				}
				var we *runner.WaitError
				if errors.As(err, &we) {
					s.log.Error(err.Error())
					return ExitInterrupt
				}
				return ExitOK
			case sig == syscall.SIGUSR1:
				run.r.Dump(s.env.Stderr)
			default:
				if child := run.r.Child(); child != nil {
					child.Signal(sig)
				}
			}
		}
	}
}

func (s *session) isReload(sig os.Signal) bool {
	want, err := config.ParseSignal(*s.cfg.ReloadSignal)
	return err == nil && sig == want
}

func (s *session) isKill(sig os.Signal) bool {
	want, err := config.ParseSignal(*s.cfg.KillSignal)
	return err == nil && sig == want
}

// reload re-reads the config files with the original flags and starts a
// new runner in place of the current one; the -exec child carries over.
// On any error the current runner keeps going and nil is returned.
func (s *session) reload(cur *running) *running {
	s.log.Info("reloading the configuration")
	cfg, err := load(s.cli.ConfigPaths, s.flags, s.env.LookupEnv)
	if err != nil {
		s.log.Error("reload failed; keeping the running configuration", "error", err)
		return nil
	}
	next, err := runner.New(cfg, runner.Options{Logger: s.log, Stdout: s.env.Stdout})
	if err != nil {
		s.log.Error("reload failed; keeping the running configuration", "error", err)
		return nil
	}
	if err := cur.stop(); err != nil {
		var exit *runner.ChildExit
		if errors.As(err, &exit) {
			s.log.Error("the child exited during the reload", "code", exit.Code)
		}
	}
	s.cfg = cfg
	next.AdoptChild(cur.r.Child())
	return start(next)
}

// exitCode turns the end of a run into the process's exit code.
func (s *session) exitCode(err error, r *runner.Runner) int {
	var exit *runner.ChildExit
	var wait *runner.WaitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exit):
		s.log.Info("the child process exited", "code", exit.Code)
		return exit.Code
	case errors.As(err, &wait) && wait.Interrupted:
		s.log.Error(err.Error())
		return ExitInterrupt
	}
	s.log.Error(err.Error())
	if child := r.Child(); child != nil {
		child.Stop()
	}
	return ExitRunner
}
