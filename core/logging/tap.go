package logging

import (
	"bytes"
	"io"
	"log"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// Sinks is what a logger offers to those who want a copy of its entries.
// hclog's InterceptLogger has these methods; Tap gives them to any logger.
type Sinks interface {
	RegisterSink(sink hclog.SinkAdapter)
	DeregisterSink(sink hclog.SinkAdapter)
}

// Tap returns logger itself when it already accepts sinks, else a logger
// that writes through logger and also hands every entry, whatever logger's
// own level, to the sinks registered on it or on any logger derived from it
// (Named, With). A sink filters by its own level, so a monitor can follow
// debug entries of an agent that logs at info. With no sink registered the
// extra cost of an entry is one atomic load.
func Tap(logger hclog.Logger) hclog.Logger {
	if _, ok := logger.(Sinks); ok {
		return logger
	}
	return &tapLogger{Logger: logger, hub: &hub{}}
}

// hub is the set of sinks shared by a tapped logger and its derivatives,
// copied on write so that logging reads it without a lock.
type hub struct {
	mu    sync.Mutex
	sinks atomic.Pointer[[]hclog.SinkAdapter]
}

func (h *hub) list() []hclog.SinkAdapter {
	if p := h.sinks.Load(); p != nil {
		return *p
	}
	return nil
}

func (h *hub) add(s hclog.SinkAdapter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	next := append(append([]hclog.SinkAdapter(nil), h.list()...), s)
	h.sinks.Store(&next)
}

func (h *hub) remove(s hclog.SinkAdapter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var next []hclog.SinkAdapter
	for _, x := range h.list() {
		if x != s {
			next = append(next, x)
		}
	}
	h.sinks.Store(&next)
}

// tapLogger is an hclog.Logger that copies entries to a hub's sinks.
type tapLogger struct {
	hclog.Logger
	hub *hub
}

func (l *tapLogger) RegisterSink(s hclog.SinkAdapter)   { l.hub.add(s) }
func (l *tapLogger) DeregisterSink(s hclog.SinkAdapter) { l.hub.remove(s) }

func (l *tapLogger) Log(level hclog.Level, msg string, args ...interface{}) {
	l.log(level, msg, args)
}
func (l *tapLogger) Trace(msg string, args ...interface{}) { l.log(hclog.Trace, msg, args) }
func (l *tapLogger) Debug(msg string, args ...interface{}) { l.log(hclog.Debug, msg, args) }
func (l *tapLogger) Info(msg string, args ...interface{})  { l.log(hclog.Info, msg, args) }
func (l *tapLogger) Warn(msg string, args ...interface{})  { l.log(hclog.Warn, msg, args) }
func (l *tapLogger) Error(msg string, args ...interface{}) { l.log(hclog.Error, msg, args) }

func (l *tapLogger) log(level hclog.Level, msg string, args []interface{}) {
	l.Logger.Log(level, msg, args...)
	sinks := l.hub.list()
	if len(sinks) == 0 {
		return
	}
	implied := l.Logger.ImpliedArgs()
	all := make([]interface{}, 0, len(implied)+len(args))
	all = append(append(all, implied...), args...)
	name := l.Logger.Name()
	for _, s := range sinks {
		s.Accept(name, level, msg, all...)
	}
}

// The level checks say yes while anyone listens, so that entries built
// only when their level is on reach the sinks.
func (l *tapLogger) IsTrace() bool { return l.Logger.IsTrace() || l.listening() }
func (l *tapLogger) IsDebug() bool { return l.Logger.IsDebug() || l.listening() }
func (l *tapLogger) IsInfo() bool  { return l.Logger.IsInfo() || l.listening() }
func (l *tapLogger) IsWarn() bool  { return l.Logger.IsWarn() || l.listening() }
func (l *tapLogger) IsError() bool { return l.Logger.IsError() || l.listening() }

func (l *tapLogger) listening() bool { return len(l.hub.list()) > 0 }

func (l *tapLogger) With(args ...interface{}) hclog.Logger {
	return &tapLogger{Logger: l.Logger.With(args...), hub: l.hub}
}

func (l *tapLogger) Named(name string) hclog.Logger {
	return &tapLogger{Logger: l.Logger.Named(name), hub: l.hub}
}

func (l *tapLogger) ResetNamed(name string) hclog.Logger {
	return &tapLogger{Logger: l.Logger.ResetNamed(name), hub: l.hub}
}

func (l *tapLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

// StandardWriter turns lines written by a standard library logger into
// entries of this logger, reading a "[LEVEL]" prefix when asked to.
func (l *tapLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	if opts == nil {
		opts = &hclog.StandardLoggerOptions{}
	}
	return &stdWriter{l: l, opts: *opts}
}

type stdWriter struct {
	l    *tapLogger
	opts hclog.StandardLoggerOptions
}

func (w *stdWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, " \t\n"))
	level, msg := hclog.Info, line
	if w.opts.InferLevels || w.opts.ForceLevel != hclog.NoLevel {
		level, msg = inferLevel(line)
	}
	if w.opts.ForceLevel != hclog.NoLevel {
		level = w.opts.ForceLevel
	}
	w.l.log(level, msg, nil)
	return len(p), nil
}

// inferLevel reads the "[DEBUG] msg" convention of standard library loggers.
func inferLevel(line string) (hclog.Level, string) {
	for _, lv := range []struct {
		tag   string
		level hclog.Level
	}{{"[TRACE]", hclog.Trace}, {"[DEBUG]", hclog.Debug}, {"[INFO]", hclog.Info},
		{"[WARN]", hclog.Warn}, {"[ERROR]", hclog.Error}, {"[ERR]", hclog.Error}} {
		if rest, ok := strings.CutPrefix(line, lv.tag); ok {
			return lv.level, strings.TrimSpace(rest)
		}
	}
	return hclog.Info, line
}
