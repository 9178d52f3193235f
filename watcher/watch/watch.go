package watch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/event"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/watcher"
	"github.com/beacon-sd/beacon/watcher/consul"
	"github.com/beacon-sd/beacon/watcher/dep"
)

// Handler is what a watch runs each time its result changes: index is the
// result's X-Consul-Index, data the result.
type Handler func(ctx context.Context, index uint64, data any) error

// Retry is how a watch retries a failed read: without end, from a second
// up to three minutes between tries.
var Retry = watcher.Retry{Enabled: true, Backoff: time.Second, MaxBackoff: 3 * time.Minute}

// Options tune a watch.
type Options struct {
	// Once ends the watch after the first result has been handled.
	Once   bool
	Logger hclog.Logger
}

// Watch is one running watch.
type Watch struct {
	query   dep.Dependency
	handler Handler
	client  *consul.Client
	opts    Options
	log     hclog.Logger
	// lastEvent is the ID of the last event an event watch handed on.
	lastEvent string
}

// New checks def's view and prepares its watch, reading through c (which
// carries the token) and handing each result to h.
func New(def *structs.WatchDefinition, c *consul.Client, h Handler, opts Options) (*Watch, error) {
	if err := def.ValidateQuery(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	q := newQuery(def)
	var d dep.Dependency = q
	if def.Type == "agent_service" {
		d = polled{q}
	}
	return &Watch{query: d, handler: h, client: c, opts: opts, log: opts.Logger}, nil
}

// String names the watch's view, for logs.
func (w *Watch) String() string { return w.query.String() }

// Run follows the view until ctx ends (or, with Once, until the first
// result was handled), running the handler on each change. A handler
// that fails is logged and runs again at the next change; with Once, its
// error is returned.
func (w *Watch) Run(ctx context.Context) error {
	if err := w.refused(ctx); err != nil {
		return err
	}
	vw := watcher.New(w.client, watcher.Options{Retry: Retry, Once: w.opts.Once, Logger: w.log})
	defer vw.Stop()
	vw.Add(w.query)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-vw.Errors():
			return err
		case <-vw.Changed():
		}
		vw.TakeChanged()
		data, index, ok := vw.RecallIndex(w.query)
		if !ok {
			continue
		}
		data, index = w.newEvents(data, index)
		err := w.handler(ctx, index, data)
		if ctx.Err() != nil {
			return nil
		}
		if w.opts.Once {
			return err
		}
		if err != nil {
			w.log.Error("watch handler failed; it runs again at the next change", "watch", w.String(), "error", err)
		}
	}
}

// refused reads the view once and returns the error of an answer of 400:
// the agent refuses the query itself (a parameter it does not take), and
// asking again will not change that. Any other failure is left to the
// view's retries.
func (w *Watch) refused(ctx context.Context) error {
	_, _, err := w.query.Fetch(ctx, w.client, consul.QueryOptions{})
	var se *consul.StatusError
	if errors.As(err, &se) && se.Code == http.StatusBadRequest {
		return fmt.Errorf("the agent refuses this watch: %w", err)
	}
	return nil
}

// newEvents keeps, of an event watch's list, the events after the last
// one handed on before, as Consul's event watches do; the index is the
// whole list's. Other results pass as they are.
func (w *Watch) newEvents(data any, index uint64) (any, uint64) {
	evs, ok := data.([]*api.UserEvent)
	if !ok {
		return data, index
	}
	out := evs
	if w.lastEvent != "" {
		for i, e := range evs {
			if e.ID == w.lastEvent {
				out = evs[i+1:]
				break
			}
		}
	}
	if len(evs) > 0 {
		w.lastEvent = evs[len(evs)-1].ID
	}
	return out, event.ListIndex(evs)
}
