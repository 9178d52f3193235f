// Package dep holds the kinds of data a template can depend on (a service's
// healthy instances, the service list, a key, a key prefix, nodes,
// datacenters, a local file), how each is written in a template, and how
// each is fetched from a Consul-compatible API. The value types here are
// what templates see, with consul-template's field names.
package dep

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/watcher/consul"
)

// Dependency is one query a template makes. Two dependencies with the same
// String are the same query: the watcher runs one loop for both.
type Dependency interface {
	// String identifies the query, with every argument that changes its
	// result, e.g. `health.service(web@dc1|passing,warning)`.
	String() string
	// Fetch reads the current value. With q.WaitIndex > 0 it is a
	// blocking query: it returns when the value's index moves past
	// q.WaitIndex or q.WaitTime elapses. The value's type is documented
	// on each kind.
	Fetch(ctx context.Context, c *consul.Client, q consul.QueryOptions) (any, consul.Meta, error)
}

// AsyncDependency is a Dependency that can also be read without a
// goroutine waiting for the answer: done is called, on another goroutine,
// with what Fetch would have returned.
type AsyncDependency interface {
	Dependency
	FetchAsync(ctx context.Context, c *consul.Client, q consul.QueryOptions, done func(any, consul.Meta, error))
}

// call is one GET of the API and how its answer becomes a value; the
// dependencies that are a single GET build one for both Fetch and
// FetchAsync.
type call struct {
	path   string
	params url.Values
	q      consul.QueryOptions
	out    any                           // what the body decodes into
	value  func(found bool) (any, error) // the value from out
}

func (cl call) fetch(ctx context.Context, c *consul.Client) (any, consul.Meta, error) {
	meta, found, err := c.Get(ctx, cl.path, cl.params, cl.q, cl.out)
	if err != nil {
		return nil, meta, err
	}
	v, err := cl.value(found)
	return v, meta, err
}

func (cl call) start(ctx context.Context, c *consul.Client, done func(any, consul.Meta, error)) {
	c.GetAsync(ctx, cl.path, cl.params, cl.q, cl.out, func(meta consul.Meta, found bool, err error) {
		if err != nil {
			done(nil, meta, err)
			return
		}
		v, err := cl.value(found)
		done(v, meta, err)
	})
}

// Poller is a Dependency whose source cannot block; the watcher re-reads it
// every PollInterval instead.
type Poller interface {
	PollInterval() time.Duration
}

// ErrBadQuery is wrapped by every parse error.
var ErrBadQuery = errors.New("bad query")

func badQuery(kind, s, why string) error {
	return fmt.Errorf("%s %q: %w: %s", kind, s, ErrBadQuery, why)
}

// ServiceTags is a service's tags, sorted.
type ServiceTags []string

// Contains reports whether tag is one of the tags.
func (t ServiceTags) Contains(tag string) bool {
	for _, x := range t {
		if x == tag {
			return true
		}
	}
	return false
}

// sortedTags copies and sorts tags; nil stays an empty list so templates
// and toJSON see [] rather than null.
func sortedTags(tags []string) ServiceTags {
	out := make(ServiceTags, len(tags))
	copy(out, tags)
	sortStrings(out)
	return out
}

// kvPath matches "path@dc" for keys and prefixes.
var kvPath = regexp.MustCompile(`^([^@]*)(?:@([\w.\-]+))?$`)

// splitDC splits "x@dc" into x and dc.
func splitDC(kind, s string) (string, string, error) {
	m := kvPath.FindStringSubmatch(s)
	if m == nil {
		return "", "", badQuery(kind, s, `want "<path>" or "<path>@<datacenter>"`)
	}
	return m[1], m[2], nil
}

// atDC formats the "@dc" suffix of a query name.
func atDC(dc string) string {
	if dc == "" {
		return ""
	}
	return "@" + dc
}

// nearSuffix formats the "~near" suffix.
func nearSuffix(near string) string {
	if near == "" {
		return ""
	}
	return "~" + near
}

// trimSlashes removes leading slashes of a key path, as Consul ignores them.
func trimSlashes(s string) string { return strings.TrimLeft(s, "/") }
