package registrator

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// containerActions are the container events that can change what a
// container offers. "kill" is not one: a signal may not stop the
// container, and when it does "die" follows; asking Docker about a
// container being killed would wait for the kill to finish and delay the
// "die" behind it.
var containerActions = map[string]bool{
	"start": true, "restart": true, "die": true, "stop": true,
	"destroy": true, "pause": true, "unpause": true, "health_status": true,
	"rename": true,
}

// watch follows the engine's event stream until ctx ends. Whenever the
// stream is (re)established, it reconciles everything, so events missed
// while the engine was away leave nothing stale; while the engine does not
// answer it retries with a growing wait.
func (r *Registrator) watch(ctx context.Context) {
	const first = 100 * time.Millisecond
	pingWait, streamWait := first, first
	grow := func(d *time.Duration) {
		if *d *= 2; *d > r.cfg.MaxBackoff {
			*d = r.cfg.MaxBackoff
		}
	}
	down := false
	for ctx.Err() == nil {
		if _, err := r.docker.Ping(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !down {
				r.log.Warn("docker engine not answering; reconnecting", "error", err)
				down = true
			}
			if !sleep(ctx, pingWait) {
				return
			}
			grow(&pingWait)
			continue
		}
		pingWait = first
		if down {
			r.log.Info("docker engine back; reconciling")
			down = false
		}
		began := time.Now()
		err := r.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("docker event stream ended; reconnecting", "error", err)
		down = true
		// A stream that fails as soon as it opens must not turn into a
		// loop of reconnects and reconciles.
		if time.Since(began) > 10*time.Second {
			streamWait = first
		}
		if !sleep(ctx, streamWait) {
			return
		}
		grow(&streamWait)
	}
}

// follow reads one event stream until it fails. The reconcile runs beside
// it, after the subscription, so no change between the two is missed.
func (r *Registrator) follow(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.forgetCreated()
	msgs, errs := r.docker.Events(sctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("type", string(events.NetworkEventType)),
	)})
	go func() {
		if err := r.reconcile(sctx, "connected"); err != nil && sctx.Err() == nil {
			r.log.Warn("reconcile incomplete; the next reconnect or resync completes it", "error", err)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			return err
		case m, ok := <-msgs:
			if !ok {
				return errors.New("the engine closed the event stream")
			}
			r.handle(m)
		}
	}
}

// handle hands an event to the worker of the container it concerns.
func (r *Registrator) handle(m events.Message) {
	action, _, _ := strings.Cut(string(m.Action), ":")
	action = strings.TrimSpace(action)
	switch m.Type {
	case events.ContainerEventType:
		r.noteEvent(m.Actor.ID, action)
		if containerActions[action] {
			r.log.Debug("event", "action", m.Action, "container", short(m.Actor.ID))
			r.enqueue(m.Actor.ID, hint{action: action, exitCode: m.Actor.Attributes["exitCode"]})
		}
	case events.NetworkEventType:
		// Joining or leaving a network changes the container addresses
		// that -internal advertises, and where a created container will
		// publish its ports.
		if id := m.Actor.Attributes["container"]; id != "" && (action == "connect" || action == "disconnect") {
			r.noteNetwork(id, action, m.Actor.Attributes["name"])
			if r.cfg.Internal {
				r.enqueue(id, hint{action: "network " + action})
			}
		}
	}
}
