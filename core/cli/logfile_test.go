package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/config"
)

// agentConfig parses agent flags as `beacon agent` does.
func agentConfig(t *testing.T, args ...string) *config.Config {
	t.Helper()
	flags := config.NewFlags("agent", io.Discard)
	if err := flags.FlagSet.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg, err := flags.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestLogRotateFlags(t *testing.T) {
	cfg := agentConfig(t, "-dev", "-log-file", "/var/log/beacon/", "-log-rotate-bytes", "1048576",
		"-log-rotate-duration", "1h", "-log-rotate-max-files", "-1")
	if cfg.LogFile != "/var/log/beacon/" || cfg.LogRotateBytes != 1<<20 || cfg.LogRotateDur.D() != time.Hour || cfg.LogRotateMax != -1 {
		t.Errorf("flags gave %q %d %s %d", cfg.LogFile, cfg.LogRotateBytes, cfg.LogRotateDur.D(), cfg.LogRotateMax)
	}
	// The same settings as config keys.
	cfg = agentConfig(t, "-dev", "-hcl", `log_file = "/tmp/a.log"
log_rotate_bytes = 10
log_rotate_duration = "30m"
log_rotate_max_files = 3`)
	if cfg.LogRotateBytes != 10 || cfg.LogRotateDur.D() != 30*time.Minute || cfg.LogRotateMax != 3 {
		t.Errorf("keys gave %d %s %d", cfg.LogRotateBytes, cfg.LogRotateDur.D(), cfg.LogRotateMax)
	}
	flags := config.NewFlags("agent", io.Discard)
	if err := flags.FlagSet.Parse([]string{"-log-rotate-bytes", "lots"}); err == nil {
		t.Error("a non-numeric -log-rotate-bytes was accepted")
	}
}

func TestAgentLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	cfg := agentConfig(t, "-dev", "-log-file", dir+string(filepath.Separator), "-log-rotate-bytes", "300",
		"-log-rotate-max-files", "2")
	logger, closeLog, err := newLogger(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		logger.Info("an entry long enough to fill the file quickly", "i", i)
	}
	closeLog()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rotated int
	for _, e := range entries {
		info, _ := e.Info()
		switch {
		case e.Name() == "consul.log":
		case strings.HasPrefix(e.Name(), "consul-") && strings.HasSuffix(e.Name(), ".log"):
			rotated++
		default:
			t.Errorf("unexpected file %s", e.Name())
		}
		if info.Size() > 300 {
			t.Errorf("%s is %d bytes, over the limit", e.Name(), info.Size())
		}
	}
	if rotated != 2 {
		t.Errorf("%d rotated files kept, want 2", rotated)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "consul.log"))
	if !strings.Contains(string(b), "i=39") {
		t.Errorf("the last entry is not in consul.log: %q", b)
	}
}

func TestAgentLogFileError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := agentConfig(t, "-dev", "-log-file", filepath.Join(file, "sub", "x.log"))
	if _, _, err := newLogger(cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "log_file") {
		t.Errorf("log file under a regular file: %v", err)
	}
}
