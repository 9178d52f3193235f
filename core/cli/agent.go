package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/daemon"
	"github.com/beacon-sd/beacon/core/logging"
	"github.com/beacon-sd/beacon/core/version"
	"github.com/beacon-sd/beacon/internal/memlimit"
	"github.com/beacon-sd/beacon/watcher/watch"
)

// serverGCPercent is a server's garbage collector target unless GOGC says
// otherwise.
const serverGCPercent = 200

// agentCommand runs the agent: `beacon agent [flags]`. SIGHUP reloads the
// configuration; SIGINT and SIGTERM stop the agent.
func agentCommand(args []string, stdout, stderr io.Writer) int {
	flags := config.NewFlags("agent", stderr)
	flags.FlagSet.Usage = func() {
		fmt.Fprintf(stderr, "Usage: beacon agent [options]\n\n  Runs an agent. -dev runs a single in-memory server for development.\n\nOptions:\n\n")
		flags.FlagSet.PrintDefaults()
	}
	if err := flags.FlagSet.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if flags.FlagSet.NArg() > 0 {
		fmt.Fprintf(stderr, "agent: unexpected arguments: %s\n", strings.Join(flags.FlagSet.Args(), " "))
		return 1
	}
	cfg, err := flags.Load()
	if err != nil {
		fmt.Fprintf(stderr, "agent: %v\n", err)
		return 1
	}
	logger, closeLog, err := newLogger(cfg, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "agent: %v\n", err)
		return 1
	}
	defer closeLog()
	logger.Info("starting", "version", version.String())
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}
	if _, set := os.LookupEnv("GOGC"); !set && cfg.Server {
		// A server's heap is mostly its state store, and every write
		// allocates in it on all servers at once: collecting at 3x the
		// live heap instead of Go's 2x gives the CPU it saves to
		// writes (about 5% more of them per second on three servers
		// sharing two cores). Clients keep Go's default; GOGC decides
		// when set.
		debug.SetGCPercent(serverGCPercent)
	}
	if limit := memlimit.SetDefault(); limit > 0 {
		logger.Debug("soft memory limit set; GOMEMLIMIT overrides it", "limit_mib", limit>>20)
	}
	// Signals are caught from before the start: one that arrives while the
	// agent starts (its PID file is already written) is handled after.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	d, err := daemon.Start(cfg, daemon.Options{Logger: logger, Load: flags.Load, Watches: watch.Start})
	if err != nil {
		fmt.Fprintf(stderr, "agent: %v\n", err)
		return 1
	}
	for {
		select {
		case <-d.Done():
			logger.Info("agent stopped")
			return 0
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				logger.Info("SIGHUP: reloading configuration")
				_ = d.Reload()
				continue
			}
			if leaveOnSignal(cfg, sig) {
				logger.Info("leaving the cluster before stopping", "signal", sig.String())
				if err := d.Leave(); err != nil {
					logger.Warn("graceful leave failed", "error", err)
				}
				<-d.Done()
				return 0
			}
			logger.Info("shutting down", "signal", sig.String())
			d.Shutdown()
			return 0
		}
	}
}

// leaveOnSignal applies leave_on_terminate and skip_leave_on_interrupt,
// whose defaults differ: clients leave on both signals, servers on neither
// (a server that leaves shrinks the raft quorum).
func leaveOnSignal(cfg *config.Config, sig os.Signal) bool {
	if cfg.DevMode {
		return false
	}
	if sig == syscall.SIGINT {
		skip := cfg.Server
		if cfg.SkipLeaveOnInterrupt != nil {
			skip = *cfg.SkipLeaveOnInterrupt
		}
		return !skip
	}
	leave := !cfg.Server
	if cfg.LeaveOnTerminate != nil {
		leave = *cfg.LeaveOnTerminate
	}
	return leave
}

// newLogger builds the agent's logger from log_level, log_json, log_file
// (rotated by log_rotate_bytes, log_rotate_duration, log_rotate_max_files)
// and enable_syslog. The returned func closes what it opened.
func newLogger(cfg *config.Config, stdout io.Writer) (hclog.Logger, func(), error) {
	var outs []io.Writer
	outs = append(outs, stdout)
	var closers []func()
	if cfg.LogFile != "" {
		f, err := logging.OpenFile(logging.FileConfig{
			Path: cfg.LogFile, RotateBytes: cfg.LogRotateBytes,
			RotateDuration: cfg.LogRotateDur.D(), RotateMaxFiles: cfg.LogRotateMax,
		})
		if err != nil {
			return nil, nil, err
		}
		outs = append(outs, f)
		closers = append(closers, func() { f.Close() })
	}
	if cfg.EnableSyslog {
		w, err := syslog.New(syslogPriority(cfg.SyslogFacility), "beacon")
		if err != nil {
			return nil, nil, fmt.Errorf("syslog: %w (is a syslog daemon running?)", err)
		}
		outs = append(outs, w)
		closers = append(closers, func() { w.Close() })
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name: "beacon", Level: hclog.LevelFromString(cfg.LogLevel), JSONFormat: cfg.LogJSON,
		Output: io.MultiWriter(outs...),
	})
	return logger, func() {
		for _, c := range closers {
			c()
		}
	}, nil
}

func syslogPriority(facility string) syslog.Priority {
	m := map[string]syslog.Priority{
		"KERN": syslog.LOG_KERN, "USER": syslog.LOG_USER, "DAEMON": syslog.LOG_DAEMON,
		"LOCAL0": syslog.LOG_LOCAL0, "LOCAL1": syslog.LOG_LOCAL1, "LOCAL2": syslog.LOG_LOCAL2,
		"LOCAL3": syslog.LOG_LOCAL3, "LOCAL4": syslog.LOG_LOCAL4, "LOCAL5": syslog.LOG_LOCAL5,
		"LOCAL6": syslog.LOG_LOCAL6, "LOCAL7": syslog.LOG_LOCAL7,
	}
	if p, ok := m[strings.ToUpper(facility)]; ok {
		return p | syslog.LOG_INFO
	}
	return syslog.LOG_LOCAL0 | syslog.LOG_INFO
}
