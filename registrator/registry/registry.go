// Package registry writes services where consumers look them up, chosen by
// the scheme of a Registrator registry URI: consul:// (the agent's service
// registration API), consul-tls://, consul-unix:// and consulkv:// (plain
// keys under a prefix).
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/outcome"
	"github.com/beacon-sd/beacon/registrator/service"
)

// ErrRejected marks a write the registry refused as invalid (a 4xx
// answer): sending it again will not help until the container changes.
var ErrRejected = errors.New("rejected by the registry")

// ErrNotRegistered is returned by Refresh for a service the registry no
// longer holds (an agent that lost its state): it needs registering again.
var ErrNotRegistered = errors.New("not registered")

// Registry is where services are written.
type Registry interface {
	// Ping checks that the registry answers.
	Ping(ctx context.Context) error
	// Register writes a service, replacing one with the same ID.
	Register(ctx context.Context, s *service.Service) error
	// Deregister removes a service; removing one that is not there is not
	// an error.
	Deregister(ctx context.Context, s *service.Service) error
	// Refresh reports the heartbeat of -ttl and the container's Docker
	// health state to the service's TTL checks.
	Refresh(ctx context.Context, s *service.Service) error
	// Services lists the services the registry holds for a Docker host.
	Services(ctx context.Context, host string) ([]Entry, error)
	// Digest is the part of a service the registry stores, in a form equal
	// to the Digest of the Entry listed for it when nothing has changed.
	Digest(s *service.Service) string
	// NeedsRefresh reports whether Refresh has anything to do for s.
	NeedsRefresh(s *service.Service) bool
	// String names the registry for log lines.
	String() string
}

// Entry is a service as a registry lists it: ID and Name always, the rest
// as far as the registry keeps it.
type Entry struct {
	Service *service.Service
	Digest  string
}

// Options tune registries.
type Options struct {
	// TTL, when positive, gives every service a check that fails when no
	// heartbeat came for that long (-ttl); Refresh sends the heartbeat.
	TTL time.Duration
	// HealthTTL is the TTL of the check that mirrors a container's Docker
	// health state; Refresh renews it. Default 90s.
	HealthTTL time.Duration
	// Timeout bounds each request. Default 10s.
	Timeout time.Duration
}

// New makes the registry a URI names.
func New(uri string, opt Options) (Registry, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("registry URI %q: %w", uri, err)
	}
	if opt.HealthTTL <= 0 {
		opt.HealthTTL = 90 * time.Second
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	switch u.Scheme {
	case "consul", "consul-tls", "consul-unix":
		return newConsul(u, opt)
	case "consulkv":
		return newConsulKV(u, opt)
	case "":
		return nil, fmt.Errorf("registry URI %q has no scheme: use consul://127.0.0.1:8500", uri)
	default:
		return nil, fmt.Errorf("registry URI %q: unsupported scheme %q (supported: consul, consul-tls, consul-unix, consulkv)", uri, u.Scheme)
	}
}

// clientConfig is the Consul API client configuration for a URI: the
// address from the URI, TLS files and ACL token from the environment
// (CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_HTTP_TOKEN;
// Registrator's CONSUL_TLSCERT and CONSUL_TLSKEY are read too).
func clientConfig(u *url.URL, getenv func(string) string, timeout time.Duration) (*api.Config, error) {
	cfg := api.DefaultConfig()
	switch u.Scheme {
	case "consul-unix":
		p := u.Path
		if u.Host != "" {
			p = u.Host + p
		}
		if p == "" {
			return nil, fmt.Errorf("registry URI %q: consul-unix needs a socket path", u.String())
		}
		cfg.Address = "unix://" + p
		cfg.Scheme = "http"
	case "consul-tls":
		cfg.Address = hostOr(u, "127.0.0.1:8501")
		cfg.Scheme = "https"
		if v := getenv("CONSUL_TLSCERT"); v != "" && cfg.TLSConfig.CertFile == "" {
			cfg.TLSConfig.CertFile = v
		}
		if v := getenv("CONSUL_TLSKEY"); v != "" && cfg.TLSConfig.KeyFile == "" {
			cfg.TLSConfig.KeyFile = v
		}
	default:
		cfg.Address = hostOr(u, "127.0.0.1:8500")
		cfg.Scheme = "http"
	}
	hc, err := api.NewHttpClient(cfg.Transport, cfg.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("registry %s: TLS settings: %w", u.Scheme, err)
	}
	hc.Timeout = timeout
	cfg.HttpClient = hc
	return cfg, nil
}

// agentAddr is the agent's node address, from /v1/agent/self. A token
// that may write services but not read the agent (all Registrator needs
// with Consul) gets 403 there; then the agent's status answers whether it
// is up, and the address stays unknown (""). A token the agent does not
// know ("ACL not found") is an error here already.
func agentAddr(ctx context.Context, c *api.Client) (string, error) {
	self, err := c.Agent().Self()
	var se api.StatusError
	if errors.As(err, &se) && se.Code == http.StatusForbidden && strings.HasPrefix(se.Body, "Permission denied") {
		_, err = c.Status().LeaderWithQueryOptions((&api.QueryOptions{}).WithContext(ctx))
		return "", err
	}
	if err != nil {
		return "", err
	}
	addr, _ := self["Member"]["Addr"].(string)
	return addr, nil
}

// agentNode keeps the agent's node address once a ping has learned it.
type agentNode struct {
	mu   sync.Mutex
	addr string
}

// ping asks the agent behind c about itself and keeps the node address it
// gives; errors name the registry who.
func (n *agentNode) ping(ctx context.Context, c *api.Client, who fmt.Stringer) error {
	addr, err := agentAddr(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	if addr != "" {
		n.mu.Lock()
		n.addr = addr
		n.mu.Unlock()
	}
	return nil
}

// address is the node address learned, or "" before any.
func (n *agentNode) address() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addr
}

func hostOr(u *url.URL, def string) string {
	if u.Host != "" {
		return u.Host
	}
	return def
}

// classify marks 4xx answers (but 429) as rejections; everything else is
// worth retrying. Every write a registry makes (register, deregister,
// refresh) leaves the same state whether it applies once or twice, so one
// of unknown outcome (core/outcome) is sent again just like one that was
// not applied; the error says which it was.
func classify(op string, s *service.Service, err error) error {
	if err == nil {
		return nil
	}
	var se api.StatusError
	if errors.As(err, &se) && se.Code >= 400 && se.Code < 500 && se.Code != 429 {
		return fmt.Errorf("%s %s: %w: %s", op, s.ID, ErrRejected, strings.TrimSpace(se.Body))
	}
	return fmt.Errorf("%s %s (%s): %w", op, s.ID, outcome.Of(err), err)
}

// isNotFound reports a 404 answer.
func isNotFound(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.Code == 404
}
