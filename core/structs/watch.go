package structs

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// WatchDefinition is a watch as users write it: an entry of the agent's
// "watches", or what `beacon watch` builds from its flags. It names a view
// of the catalog, the KV store or the user events, and, in the agent's
// configuration, the handler to run each time the view changes.
type WatchDefinition struct {
	Type       string `json:"type"`
	Datacenter string `json:"datacenter"`
	Token      string `json:"token"`

	// The view's parameters; Validate says which type takes which.
	Key         string   `json:"key"`
	Prefix      string   `json:"prefix"`
	Service     string   `json:"service"`
	Tag         []string `json:"tag"`
	PassingOnly bool     `json:"passingonly"`
	State       string   `json:"state"`
	Name        string   `json:"name"`
	ServiceID   string   `json:"service_id"`
	Stale       bool     `json:"stale"`
	Filter      string   `json:"filter"`

	// The handler: a command (Args, or the older Handler, a shell command
	// line) or an HTTP endpoint.
	HandlerType       string            `json:"handler_type"`
	Handler           string            `json:"handler"`
	Args              []string          `json:"args"`
	HTTPHandlerConfig *WatchHTTPHandler `json:"http_handler_config"`
}

// WatchHTTPHandler is where an "http" watch handler sends each result.
type WatchHTTPHandler struct {
	Path          string              `json:"path"`
	Method        string              `json:"method"`
	Header        map[string][]string `json:"header"`
	Timeout       Duration            `json:"timeout"`
	TLSSkipVerify bool                `json:"tls_skip_verify"`
}

// WatchTypes are the watch types, each with the parameters it takes
// besides datacenter, token and filter.
var WatchTypes = map[string][]string{
	"key":           {"key", "stale"},
	"keyprefix":     {"prefix", "stale"},
	"services":      {"stale"},
	"nodes":         {"stale"},
	"service":       {"service", "tag", "passingonly", "stale"},
	"checks":        {"service", "state", "stale"},
	"event":         {"name"},
	"agent_service": {"service_id"},
}

// ValidateQuery checks the view a watch names: a known type, the
// parameters that type needs, and none it does not take.
func (w *WatchDefinition) ValidateQuery() error {
	takes, ok := WatchTypes[w.Type]
	switch {
	case w.Type == "":
		return fmt.Errorf("watch type must be specified")
	case strings.HasPrefix(w.Type, "connect_"):
		return fmt.Errorf("watch type %q: that is service mesh, which beacon does not include", w.Type)
	case !ok:
		return fmt.Errorf("unsupported watch type %q (want key, keyprefix, services, nodes, service, checks, event or agent_service)", w.Type)
	}
	var extra []string
	for _, p := range w.given() {
		if !slices.Contains(takes, p) {
			extra = append(extra, p)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("watch type %q does not take %s", w.Type, strings.Join(extra, ", "))
	}
	switch {
	case w.Type == "key" && w.Key == "":
		return fmt.Errorf("watch type \"key\" needs a key to watch")
	case w.Type == "keyprefix" && w.Prefix == "":
		return fmt.Errorf("watch type \"keyprefix\" needs a prefix to watch")
	case w.Type == "service" && w.Service == "":
		return fmt.Errorf("watch type \"service\" needs a service to watch")
	case w.Type == "agent_service" && w.ServiceID == "":
		return fmt.Errorf("watch type \"agent_service\" needs a service_id to watch")
	case w.Type == "checks" && w.Service != "" && w.State != "":
		return fmt.Errorf("watch type \"checks\" takes a service or a state, not both")
	}
	switch w.State {
	case "", HealthAny, HealthPassing, HealthWarning, HealthCritical:
	default:
		return fmt.Errorf("watch state %q: want any, passing, warning or critical", w.State)
	}
	return nil
}

// given lists the view parameters that are set.
func (w *WatchDefinition) given() []string {
	var out []string
	for _, p := range []struct {
		name string
		set  bool
	}{
		{"key", w.Key != ""}, {"prefix", w.Prefix != ""}, {"service", w.Service != ""},
		{"tag", len(w.Tag) > 0}, {"passingonly", w.PassingOnly}, {"state", w.State != ""},
		{"name", w.Name != ""}, {"service_id", w.ServiceID != ""}, {"stale", w.Stale},
	} {
		if p.set {
			out = append(out, p.name)
		}
	}
	return out
}

// Validate checks a watch of the agent's configuration: its view, and one
// handler, a command or an HTTP endpoint.
func (w *WatchDefinition) Validate() error {
	if err := w.ValidateQuery(); err != nil {
		return err
	}
	commands := 0
	if w.Handler != "" {
		commands++
	}
	if len(w.Args) > 0 {
		commands++
	}
	switch w.HandlerType {
	case "", "script":
		if w.HTTPHandlerConfig != nil {
			return fmt.Errorf("http_handler_config needs handler_type \"http\"")
		}
		if commands == 0 {
			return fmt.Errorf("a watch needs a handler: args (the command and its arguments), or handler_type \"http\"")
		}
		if commands > 1 {
			return fmt.Errorf("a watch takes one handler: args or handler, not both")
		}
	case "http":
		if commands > 0 {
			return fmt.Errorf("a watch with handler_type \"http\" takes no args or handler")
		}
		h := w.HTTPHandlerConfig
		if h == nil {
			return fmt.Errorf("handler_type \"http\" needs http_handler_config")
		}
		u, err := url.Parse(h.Path)
		if h.Path == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("http_handler_config.path %q: want an http:// or https:// URL", h.Path)
		}
		if strings.ContainsAny(h.Method, " \t\r\n") {
			return fmt.Errorf("http_handler_config.method %q is not an HTTP method", h.Method)
		}
		if h.Timeout < 0 {
			return fmt.Errorf("http_handler_config.timeout %s: must not be negative", h.Timeout.D())
		}
	default:
		return fmt.Errorf("handler_type %q: want script or http", w.HandlerType)
	}
	return nil
}
