// Package checks runs an agent's health checks and reports each result to
// the agent, which owns the check's state.
package checks

import (
	"sync"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// MaxOutput is the most check output kept, as in Consul (4 KiB).
const MaxOutput = 4 * 1024

// Notifier receives check results.
type Notifier interface {
	UpdateCheck(checkID, status, output string)
}

// Runner runs a check: Start begins, Stop ends it and waits.
type Runner interface {
	Start()
	Stop()
}

// Truncate caps check output at MaxOutput.
func Truncate(s string) string {
	if len(s) <= MaxOutput {
		return s
	}
	return s[:MaxOutput] + "\n... (output truncated)"
}

// TTL is a check whose state is pushed by the application through the
// agent's check/pass|warn|fail|update endpoints; when no update arrives
// within the TTL it turns critical.
type TTL struct {
	CheckID  string
	TTL      time.Duration
	Notifier Notifier

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
}

// Start arms the TTL timer.
func (c *TTL) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = time.AfterFunc(c.TTL, c.expire)
}

func (c *TTL) expire() {
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if !stopped {
		c.Notifier.UpdateCheck(c.CheckID, structs.HealthCritical, "TTL expired")
	}
}

// SetStatus records an update from the application and re-arms the timer.
func (c *TTL) SetStatus(status, output string) {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	if c.timer != nil {
		c.timer.Reset(c.TTL)
	}
	c.mu.Unlock()
	c.Notifier.UpdateCheck(c.CheckID, status, Truncate(output))
}

// Stop disarms the check.
func (c *TTL) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
	}
}
