package http

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/logging"
)

// monitorLevels are the ?loglevel= values Consul accepts.
var monitorLevels = map[string]hclog.Level{
	"trace": hclog.Trace, "debug": hclog.Debug, "info": hclog.Info,
	"warn": hclog.Warn, "warning": hclog.Warn, "err": hclog.Error, "error": hclog.Error,
}

// agentMonitor streams the agent's log: GET /v1/agent/monitor?loglevel=
// LEVEL[&logjson], one entry per line, until the client goes away. The
// level may be finer than the agent's own. It needs a logger that takes
// sinks (the daemon taps its logger); entries a slow client has no room
// for are dropped and counted in the stream, as Consul does.
func (s *Server) agentMonitor(w *httpserver.Response, r *request) (interface{}, error) {
	if _, err := s.require(r, acl.Agent, s.agent.Node().Node, acl.Read); err != nil {
		return nil, err
	}
	name := r.query.Get("loglevel")
	if name == "" {
		name = "info"
	}
	level, ok := monitorLevels[strings.ToLower(name)]
	if !ok {
		return nil, badRequest("Unknown log level: %s", name)
	}
	sinks, ok := s.cfg.Logger.(logging.Sinks)
	if !ok {
		return nil, badRequest("this agent's log cannot be monitored")
	}
	r.WatchClient()
	m := logging.NewMonitor(sinks, logging.MonitorOptions{Level: level, JSON: boolParam(r, "logjson")})
	defer m.Stop()
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	err := w.Stream(func(body io.Writer, flush func() error) error {
		for {
			select {
			case <-r.Context().Done():
				return nil
			case line := <-m.Lines():
				body.Write(line)
				drain(body, m.Lines())
				if n := m.Dropped(); n > 0 {
					fmt.Fprintf(body, "Monitor dropped %d logs during monitor request\n", n)
				}
				if err := flush(); err != nil {
					return err
				}
			}
		}
	})
	if err != nil {
		s.logger.Debug("monitor stream ended", "error", err)
	}
	return nil, nil
}

// drain writes the lines already queued, so a burst goes out in one write.
func drain(body io.Writer, lines <-chan []byte) {
	for {
		select {
		case line := <-lines:
			body.Write(line)
		default:
			return
		}
	}
}
