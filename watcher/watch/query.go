// Package watch runs Consul's watches: the view a watch names
// (structs.WatchDefinition: a key, a key prefix, the services, the nodes, a
// service's instances, checks, user events, a local service) becomes one
// blocking query that a watcher view follows, and each time its result
// changes, the first result included, a handler runs with the result as
// JSON: a command reading it on its standard input, or an HTTP endpoint
// receiving it as the request body. Results are the official client's
// types, so handlers read the JSON Consul's watches give them.
package watch

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/watcher/consul"
)

// agentPoll is how often a watch of a local service reads it again: the
// agent's service endpoint does not block.
const agentPoll = time.Second

// query is a watch's read of the API: one GET whose answer decodes into
// the official client's type.
type query struct {
	id     string
	path   string
	params url.Values
	dc     string
	stale  bool
	// result gives a fresh value to decode into and the function that
	// makes the watch's result of it once the answer has been read.
	result func() (into any, value func(found bool) any)
}

func (q *query) String() string { return q.id }

// Fetch reads the view.
func (q *query) Fetch(ctx context.Context, c *consul.Client, o consul.QueryOptions) (any, consul.Meta, error) {
	o.Datacenter = q.dc
	o.AllowStale = o.AllowStale || q.stale
	into, value := q.result()
	meta, found, err := c.Get(ctx, q.path, q.params, o, into)
	if err != nil {
		return nil, meta, err
	}
	return value(found), meta, nil
}

// polled is a query read again every agentPoll instead of blocking.
type polled struct{ *query }

func (polled) PollInterval() time.Duration { return agentPoll }

// list decodes into a value of type T, the result as it is (nil when the
// path is not found).
func list[T any]() func() (any, func(bool) any) {
	return func() (any, func(bool) any) {
		var out T
		return &out, func(bool) any { return out }
	}
}

// single decodes a one-element list into its element, the result (nil
// when there is none).
func single[T any]() func() (any, func(bool) any) {
	return func() (any, func(bool) any) {
		var out []*T
		return &out, func(found bool) any {
			if !found || len(out) == 0 || out[0] == nil {
				return nil
			}
			return out[0]
		}
	}
}

// object decodes into one value, the result (nil when not found).
func object[T any]() func() (any, func(bool) any) {
	return func() (any, func(bool) any) {
		out := new(T)
		return out, func(found bool) any {
			if !found {
				return nil
			}
			return out
		}
	}
}

// newQuery builds the read of a validated definition's view.
func newQuery(def *structs.WatchDefinition) *query {
	q := &query{dc: def.Datacenter, stale: def.Stale, params: url.Values{}}
	if def.Filter != "" {
		q.params.Set("filter", def.Filter)
	}
	switch def.Type {
	case "key":
		q.path, q.result = "/v1/kv/"+strings.TrimPrefix(def.Key, "/"), single[api.KVPair]()
	case "keyprefix":
		q.path, q.result = "/v1/kv/"+strings.TrimPrefix(def.Prefix, "/"), list[api.KVPairs]()
		q.params.Set("recurse", "")
	case "services":
		q.path, q.result = "/v1/catalog/services", list[map[string][]string]()
	case "nodes":
		q.path, q.result = "/v1/catalog/nodes", list[[]*api.Node]()
	case "service":
		q.path, q.result = "/v1/health/service/"+url.PathEscape(def.Service), list[[]*api.ServiceEntry]()
		q.params["tag"] = def.Tag
		if def.PassingOnly {
			q.params.Set("passing", "")
		}
	case "checks":
		q.result = list[[]*api.HealthCheck]()
		if def.Service != "" {
			q.path = "/v1/health/checks/" + url.PathEscape(def.Service)
		} else {
			state := def.State
			if state == "" {
				state = structs.HealthAny
			}
			q.path = "/v1/health/state/" + state
		}
	case "event":
		q.path, q.result = "/v1/event/list", list[[]*api.UserEvent]()
		if def.Name != "" {
			q.params.Set("name", def.Name)
		}
	case "agent_service":
		q.path, q.result = "/v1/agent/service/"+url.PathEscape(def.ServiceID), object[api.AgentService]()
	}
	q.id = fmt.Sprintf("watch.%s(%s", def.Type, q.path)
	if len(q.params) > 0 {
		q.id += "?" + q.params.Encode()
	}
	if q.dc != "" {
		q.id += "@" + q.dc
	}
	if q.stale {
		q.id += "~stale"
	}
	q.id += ")"
	return q
}
