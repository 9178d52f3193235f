package cli

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/syncbuf"
)

// monitorRun is a `beacon monitor` running in the background.
type monitorRun struct {
	out, errOut syncbuf.Buffer
	stop        chan os.Signal
	code        chan int
}

// startMonitor runs `beacon monitor args...` with a fake interrupt.
func startMonitor(t *testing.T, args ...string) *monitorRun {
	t.Helper()
	m := &monitorRun{stop: make(chan os.Signal, 1), code: make(chan int, 1)}
	saved := interrupted
	interrupted = func() (<-chan os.Signal, func()) { return m.stop, func() {} }
	t.Cleanup(func() { interrupted = saved })
	go func() { m.code <- run(append([]string{"beacon", "monitor"}, args...), &m.out, &m.errOut) }()
	return m
}

// waitFor makes the agent log until the monitor shows want: the monitor
// attaches in the background, so the first entries may come too early.
func (m *monitorRun) waitFor(t *testing.T, a *testagent.Agent, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(m.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("monitor never showed %q; stdout %q stderr %q", want, m.out.String(), m.errOut.String())
		}
		if err := a.Client.Agent().Reload(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m *monitorRun) exit(t *testing.T) int {
	t.Helper()
	select {
	case c := <-m.code:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("monitor did not exit")
		return -1
	}
}

func TestMonitorStreamsTheAgentLog(t *testing.T) {
	a := testagent.Start(t) // logs at warn: info entries reach only the monitor
	addr := "-http-addr=" + a.HTTPAddr

	m := startMonitor(t, addr, "-log-level=debug")
	m.waitFor(t, a, "[INFO]  "+a.Config().NodeName+": configuration reloaded: services=0 checks=0")
	m.stop <- os.Interrupt
	if c := m.exit(t); c != 0 || m.errOut.String() != "" {
		t.Fatalf("after interrupt: exit %d, stderr %q", c, m.errOut.String())
	}

	j := startMonitor(t, addr, "-log-json")
	j.waitFor(t, a, `"@message":"configuration reloaded"`)
	for _, line := range strings.Split(strings.TrimSpace(j.out.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("-log-json line %q", line)
		}
	}

	// The agent going away ends the stream: exit 1 with Consul's notice.
	a.Shutdown()
	if c := j.exit(t); c != 1 || !strings.Contains(j.out.String(), "Remote side ended the monitor!") {
		t.Fatalf("after shutdown: exit %d, stdout %q", c, j.out.String())
	}
}

func TestMonitorLevelFilter(t *testing.T) {
	a := testagent.Start(t)
	m := startMonitor(t, "-http-addr="+a.HTTPAddr, "-log-level=warn")
	// An info entry must not show at warn; a warn entry must.
	time.Sleep(200 * time.Millisecond)
	a.Client.Agent().Reload()
	a.Logger.Warn("a warning for the monitor")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(m.out.String(), "a warning for the monitor") {
		if time.Now().After(deadline) {
			t.Fatalf("warning not shown: %q", m.out.String())
		}
		a.Logger.Warn("a warning for the monitor")
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(m.out.String(), "configuration reloaded") {
		t.Errorf("an info entry passed a warn monitor: %q", m.out.String())
	}
	m.stop <- os.Interrupt
	m.exit(t)

	code, _, errOut := runArgs("beacon", "monitor", "-http-addr="+a.HTTPAddr, "-log-level=loud")
	if code != 1 || !strings.Contains(errOut, "Unknown log level: loud") {
		t.Errorf("bad level: %d %q", code, errOut)
	}
}
