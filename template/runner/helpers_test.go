package runner

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/internal/syncbuf"
	"github.com/beacon-sd/beacon/template/config"
)

// setup builds a finalized config from command-line flags, as `beacon
// template` would, plus config-file text when hcl is not empty.
func setup(t *testing.T, hcl string, args ...string) *config.Config {
	t.Helper()
	flags, _, err := config.ParseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	if hcl != "" {
		if cfg, err = config.Parse("test.hcl", []byte(hcl)); err != nil {
			t.Fatal(err)
		}
	}
	cfg = cfg.Merge(flags)
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// harness runs a Runner in the background.
type harness struct {
	t      *testing.T
	r      *Runner
	log    *syncbuf.Buffer
	stdout *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan error
}

func newRunner(t *testing.T, cfg *config.Config) (*Runner, *syncbuf.Buffer, *syncbuf.Buffer) {
	t.Helper()
	log, stdout := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	r, err := New(cfg, Options{
		Logger: hclog.New(&hclog.LoggerOptions{Output: log, Level: hclog.Trace}),
		Stdout: stdout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, log, stdout
}

func startRunner(t *testing.T, cfg *config.Config) *harness {
	t.Helper()
	r, log, stdout := newRunner(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, r: r, log: log, stdout: stdout, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- r.Run(ctx) }()
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("runner log:\n%s", log.String())
		}
	})
	return h
}

func (h *harness) stop() error {
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("runner did not stop")
	}
	return nil
}

// runOnce runs a -once config to its end.
func runOnce(t *testing.T, cfg *config.Config) (error, string, string) {
	t.Helper()
	r, log, stdout := newRunner(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.Run(ctx)
	return err, log.String(), stdout.String()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func lines(path string) []string {
	s := strings.TrimSpace(read(path))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// eventually polls cond for up to within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}
