package logging

import (
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// MonitorOptions say how a monitor formats and queues entries.
type MonitorOptions struct {
	Level hclog.Level
	JSON  bool
	// Buffer is how many formatted entries may wait for the reader
	// (default 512); more are dropped and counted.
	Buffer int
}

// Monitor is a subscription to a logger's entries, each formatted as one
// line. Entries the reader has no room for are dropped rather than making
// the logging goroutine wait.
type Monitor struct {
	lines   chan []byte
	dropped atomic.Int64
	sink    hclog.SinkAdapter
	from    Sinks
	stop    sync.Once
}

// NewMonitor starts receiving from's entries at opts.Level and above.
func NewMonitor(from Sinks, opts MonitorOptions) *Monitor {
	if opts.Buffer <= 0 {
		opts.Buffer = 512
	}
	m := &Monitor{lines: make(chan []byte, opts.Buffer), from: from}
	m.sink = hclog.NewSinkAdapter(&hclog.LoggerOptions{
		Level: opts.Level, JSONFormat: opts.JSON, Output: monitorWriter{m},
	})
	from.RegisterSink(m.sink)
	return m
}

// Lines delivers the formatted entries, each ending in a newline.
func (m *Monitor) Lines() <-chan []byte { return m.lines }

// Dropped returns how many entries were dropped since the last call.
func (m *Monitor) Dropped() int64 { return m.dropped.Swap(0) }

// Stop ends the subscription. Lines is not closed: an entry being logged
// at that moment may still arrive.
func (m *Monitor) Stop() {
	m.stop.Do(func() { m.from.DeregisterSink(m.sink) })
}

type monitorWriter struct{ m *Monitor }

func (w monitorWriter) Write(p []byte) (int, error) {
	line := append([]byte(nil), p...)
	select {
	case w.m.lines <- line:
	default:
		w.m.dropped.Add(1)
	}
	return len(p), nil
}
