package command

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/template/config"
)

// facilities are the syslog facilities -syslog-facility accepts.
var facilities = map[string]syslog.Priority{
	"KERN": syslog.LOG_KERN, "USER": syslog.LOG_USER, "MAIL": syslog.LOG_MAIL, "DAEMON": syslog.LOG_DAEMON,
	"AUTH": syslog.LOG_AUTH, "SYSLOG": syslog.LOG_SYSLOG, "LPR": syslog.LOG_LPR, "NEWS": syslog.LOG_NEWS,
	"UUCP": syslog.LOG_UUCP, "CRON": syslog.LOG_CRON, "AUTHPRIV": syslog.LOG_AUTHPRIV, "FTP": syslog.LOG_FTP,
	"LOCAL0": syslog.LOG_LOCAL0, "LOCAL1": syslog.LOG_LOCAL1, "LOCAL2": syslog.LOG_LOCAL2, "LOCAL3": syslog.LOG_LOCAL3,
	"LOCAL4": syslog.LOG_LOCAL4, "LOCAL5": syslog.LOG_LOCAL5, "LOCAL6": syslog.LOG_LOCAL6, "LOCAL7": syslog.LOG_LOCAL7,
}

// newLogger logs at the configured level to stderr, or to syslog with
// -syslog. A syslog that cannot be reached is reported and stderr is used;
// an unknown facility is an error.
func newLogger(cfg *config.Config, stderr io.Writer) (hclog.Logger, func(), error) {
	level := strings.ToLower(*cfg.LogLevel)
	switch level {
	case "err":
		level = "error"
	case "warning":
		level = "warn"
	}
	out := stderr
	closer := func() {}
	var problem error
	if *cfg.Syslog.Enabled {
		fac, ok := facilities[strings.ToUpper(*cfg.Syslog.Facility)]
		if !ok {
			return nil, nil, fmt.Errorf("syslog facility %q: unknown (want LOCAL0..LOCAL7, DAEMON, USER, ...)", *cfg.Syslog.Facility)
		}
		if w, err := syslog.New(fac|syslog.LOG_INFO, *cfg.Syslog.Name); err != nil {
			problem = fmt.Errorf("connecting to syslog: %w", err)
		} else {
			out, closer = w, func() { w.Close() }
		}
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name:   "template",
		Level:  hclog.LevelFromString(level),
		Output: out,
	})
	if problem != nil {
		log.Warn("logging to stderr", "error", problem)
	}
	return log, closer, nil
}

func writePidFile(path string) error {
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// removePidFile removes the pid file if it still names this process.
func removePidFile(path string) {
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
		os.Remove(path)
	}
}
