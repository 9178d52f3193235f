package http

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/event"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// eventFire is PUT /v1/event/fire/<name>: the body is the payload, and
// ?node, ?service and ?tag are regular expressions that pick the agents
// that keep the event. The answer is the event as sent.
func (s *Server) eventFire(w *httpserver.Response, r *request) (interface{}, error) {
	ev := &api.UserEvent{
		Name:          tail(r, "/v1/event/fire/"),
		NodeFilter:    r.query.Get("node"),
		ServiceFilter: r.query.Get("service"),
		TagFilter:     r.query.Get("tag"),
	}
	if ev.Name == "" {
		return nil, badRequest("Missing name: PUT /v1/event/fire/<name>")
	}
	if err := s.checkEventDC(r); err != nil {
		return nil, err
	}
	if _, err := s.require(r, acl.Event, ev.Name, acl.Write); err != nil {
		return nil, err
	}
	if len(r.Body) > 0 {
		ev.Payload = append([]byte(nil), r.Body...)
	}
	if err := event.Validate(ev); err != nil {
		if errors.Is(err, event.ErrTooLarge) {
			return nil, &codedError{http.StatusRequestEntityTooLarge, err.Error()}
		}
		return nil, badRequest("%v", err)
	}
	if err := s.cfg.Events.Fire(ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// checkEventDC refuses ?dc naming another datacenter: events reach the
// agents of this one only.
func (s *Server) checkEventDC(r *request) error {
	if dc := r.query.Get("dc"); dc != "" && dc != s.cfg.Datacenter {
		return fmt.Errorf("%w %q", structs.ErrUnknownDC, dc)
	}
	return nil
}

// eventList is GET /v1/event/list: the events this agent kept, oldest
// first, optionally those of one ?name, without those the token may not
// read. Its index is derived from the last event's ID (event.ListIndex);
// a blocking list returns when the index differs from ?index.
func (s *Server) eventList(w *httpserver.Response, r *request) (interface{}, error) {
	var dc string
	var q structs.QueryOptions
	if err := parseQuery(r, &dc, &q); err != nil {
		return nil, err
	}
	if err := s.checkEventDC(r); err != nil {
		return nil, err
	}
	authz, err := s.authorize(r)
	if err != nil {
		return nil, err
	}
	name := r.query.Get("name")
	var timeout <-chan time.Time
	if q.MinIndex > 0 {
		s.metrics.BlockingActive.Inc()
		defer s.metrics.BlockingActive.Dec()
		t := time.NewTimer(structs.BlockWait(q.MaxWait))
		defer t.Stop()
		timeout = t.C
	}
	for {
		all, changed := s.cfg.Events.List()
		out := make([]*api.UserEvent, 0, len(all))
		hidden := false
		for _, ev := range all {
			switch {
			case name != "" && ev.Name != name:
			case !authz.Allowed(acl.Event, ev.Name, acl.Read):
				hidden = true
			default:
				out = append(out, ev)
			}
		}
		index := event.ListIndex(out)
		if q.MinIndex == 0 || index != q.MinIndex {
			w.SetHeader("X-Consul-Index", strconv.FormatUint(index, 10))
			filtered(w, hidden)
			return out, nil
		}
		select {
		case <-changed:
		case <-timeout:
			q.MinIndex = 0 // answer what there is
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
}
