package logging

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/internal/syncbuf"
)

// next waits for the monitor's next line.
func next(t *testing.T, m *Monitor) string {
	t.Helper()
	select {
	case l := <-m.Lines():
		return string(l)
	case <-time.After(5 * time.Second):
		t.Fatal("no line")
		return ""
	}
}

func TestTapDeliversBelowTheLoggerLevel(t *testing.T) {
	var out syncbuf.Buffer
	logger := Tap(hclog.New(&hclog.LoggerOptions{Name: "agent", Level: hclog.Info, Output: &out}))
	sinks := logger.(Sinks)
	if logger.IsDebug() {
		t.Fatal("IsDebug with nobody listening")
	}

	m := NewMonitor(sinks, MonitorOptions{Level: hclog.Debug})
	defer m.Stop()
	if !logger.IsDebug() {
		t.Fatal("IsDebug false while a debug monitor listens")
	}
	sub := logger.Named("http").With("client", "10.0.0.1")
	sub.Debug("request", "path", "/v1/kv/a")
	line := next(t, m)
	for _, part := range []string{"[DEBUG]", "agent.http:", "request:", "client=10.0.0.1", "path=/v1/kv/a"} {
		if !strings.Contains(line, part) {
			t.Errorf("line %q lacks %q", line, part)
		}
	}
	if out.String() != "" {
		t.Errorf("a debug entry reached the info-level output: %q", out.String())
	}

	logger.Trace("too fine")
	logger.Info("kept")
	if l := next(t, m); !strings.Contains(l, "[INFO]  agent: kept") {
		t.Errorf("info line %q", l)
	}
	if !strings.Contains(out.String(), "agent: kept") {
		t.Errorf("output %q", out.String())
	}

	m.Stop()
	logger.Info("after stop")
	select {
	case l := <-m.Lines():
		t.Errorf("line after Stop: %q", l)
	default:
	}
}

func TestTapJSONAndStandardWriter(t *testing.T) {
	logger := Tap(hclog.New(&hclog.LoggerOptions{Name: "a", Level: hclog.Error, Output: &syncbuf.Buffer{}}))
	m := NewMonitor(logger.(Sinks), MonitorOptions{Level: hclog.Trace, JSON: true})
	defer m.Stop()
	std := logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	std.Print("[WARN] memberlist: suspect node")
	line := next(t, m)
	if !strings.Contains(line, `"@level":"warn"`) || !strings.Contains(line, `"@message":"memberlist: suspect node"`) {
		t.Errorf("JSON line %q", line)
	}
}

func TestTapKeepsAnInterceptLogger(t *testing.T) {
	l := hclog.NewInterceptLogger(nil)
	if Tap(l) != hclog.Logger(l) {
		t.Error("an InterceptLogger was wrapped again")
	}
}

func TestMonitorDropsWhenFull(t *testing.T) {
	logger := Tap(hclog.NewNullLogger())
	m := NewMonitor(logger.(Sinks), MonitorOptions{Level: hclog.Info, Buffer: 2})
	defer m.Stop()
	for i := 0; i < 5; i++ {
		logger.Info("entry")
	}
	if n := m.Dropped(); n != 3 {
		t.Errorf("dropped %d, want 3", n)
	}
	if n := m.Dropped(); n != 0 {
		t.Errorf("Dropped does not reset: %d", n)
	}
	if len(m.Lines()) != 2 {
		t.Errorf("queued %d", len(m.Lines()))
	}
}

func TestInferLevel(t *testing.T) {
	cases := map[string]hclog.Level{
		"[TRACE] a": hclog.Trace, "[DEBUG] a": hclog.Debug, "[INFO] a": hclog.Info,
		"[WARN] a": hclog.Warn, "[ERR] a": hclog.Error, "[ERROR] a": hclog.Error, "plain": hclog.Info,
	}
	for in, want := range cases {
		if got, msg := inferLevel(in); got != want || (in != "plain" && msg != "a") {
			t.Errorf("inferLevel(%q) = %v %q", in, got, msg)
		}
	}
}
