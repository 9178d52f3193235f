package checks

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/structs"
)

// Probe runs one check once and returns its status and output.
type Probe func(ctx context.Context) (status, output string)

// Monitor runs a probe every interval until stopped: the first run comes
// at a random point of the first interval, so checks registered together
// spread out; runs of one check never overlap; each run is bounded by the
// timeout; a slow target holds up only its own check.
type Monitor struct {
	CheckID  string
	Interval time.Duration
	Timeout  time.Duration
	Probe    Probe
	Status   *StatusHandler
	Logger   hclog.Logger

	cancel context.CancelFunc
	done   chan struct{}
}

// Start begins running the probe.
func (m *Monitor) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.done = make(chan struct{})
	go m.run(ctx)
}

// Stop cancels the monitor and a run in progress. It does not wait: a
// result that still arrives is discarded by the notifier of a check that
// was replaced or removed.
func (m *Monitor) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
}

// Wait waits for a stopped monitor to end.
func (m *Monitor) Wait() {
	if m.done != nil {
		<-m.done
	}
}

func (m *Monitor) run(ctx context.Context) {
	defer close(m.done)
	first := time.Duration(rand.Int64N(int64(m.Interval) + 1))
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, m.Timeout)
		status, output := m.Probe(rctx)
		cancel()
		if ctx.Err() != nil {
			return // stopped mid-run: the result belongs to no one
		}
		m.Status.Update(status, Truncate(output))
		t.Reset(m.Interval)
	}
}

// StatusHandler applies success_before_passing, failures_before_warning and
// failures_before_critical between a check's results and the agent: a
// result only changes the reported status after enough consecutive results
// of its kind, while the output always shows the latest run.
type StatusHandler struct {
	CheckID                string
	Notifier               Notifier
	SuccessBeforePassing   int
	FailuresBeforeWarning  int
	FailuresBeforeCritical int

	mu        sync.Mutex
	successes int
	failures  int
	current   string
}

// NewStatusHandler starts from the check's initial status. As in Consul,
// failures_before_warning defaults to failures_before_critical.
func NewStatusHandler(id string, n Notifier, def *structs.CheckDefinition, initial string) *StatusHandler {
	warn := def.FailuresBeforeWarning
	if warn == 0 {
		warn = def.FailuresBeforeCritical
	}
	return &StatusHandler{
		CheckID: id, Notifier: n, current: initial,
		SuccessBeforePassing:   def.SuccessBeforePassing,
		FailuresBeforeWarning:  warn,
		FailuresBeforeCritical: def.FailuresBeforeCritical,
	}
}

// Update records one result.
func (h *StatusHandler) Update(status, output string) {
	h.mu.Lock()
	switch status {
	case structs.HealthPassing:
		h.successes++
		h.failures = 0
		if h.successes >= h.SuccessBeforePassing {
			h.current = status
		}
	default:
		h.failures++
		h.successes = 0
		switch {
		case status == structs.HealthCritical && h.failures >= h.FailuresBeforeCritical:
			h.current = status
		case status == structs.HealthCritical && h.failures >= h.FailuresBeforeWarning:
			h.current = structs.HealthWarning
		case status == structs.HealthWarning && h.failures >= h.FailuresBeforeWarning:
			h.current = status
		}
	}
	current := h.current
	h.mu.Unlock()
	h.Notifier.UpdateCheck(h.CheckID, current, output)
}
