// Package registrator follows a Docker engine and keeps a registry equal to
// the services its running containers offer: it lists the containers at
// start, then follows the event stream (reconnecting with backoff and
// reconciling everything after each reconnect), handles each container's
// events in order, retries what the registry could not take, and removes
// what this host registered and no longer runs.
package registrator

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Deregistration modes (-deregister).
const (
	DeregisterAlways    = "always"
	DeregisterOnSuccess = "on-success"
)

// Config is everything a registrator runs with; the CLI fills it from
// Registrator's flags.
type Config struct {
	// DockerHost is the engine's address; empty means $DOCKER_HOST, else
	// unix:///tmp/docker.sock when that socket exists (the mount used with
	// Registrator's image), else unix:///var/run/docker.sock.
	DockerHost string
	// RegistryURI is where services go: consul://127.0.0.1:8500, ...
	RegistryURI string
	// Hostname replaces the Docker host's name in service IDs and in the
	// ownership meta; empty means the name the engine reports.
	Hostname string

	Internal       bool          // -internal
	HostIP         string        // -ip
	Tags           []string      // -tags
	Explicit       bool          // -explicit
	UseIPFromLabel string        // -useIpFromLabel
	RequireLabel   bool          // -require-label
	TTL            time.Duration // -ttl
	TTLRefresh     time.Duration // -ttl-refresh
	Resync         time.Duration // -resync; 0 never
	RetryAttempts  int           // -retry-attempts; -1 forever
	RetryInterval  time.Duration // -retry-interval
	Cleanup        bool          // -cleanup
	Deregister     string        // -deregister: always or on-success

	// HealthRefresh is how often the Docker health state is re-reported
	// (default 30s); the check it feeds expires after three times that.
	HealthRefresh time.Duration
	// MaxBackoff caps the wait between reconnects to the engine and between
	// retries of one container's registrations (default 10s).
	MaxBackoff time.Duration

	// Logger receives the log; when nil, one at LogLevel (default info)
	// writes to stderr.
	Logger   hclog.Logger
	LogLevel string
}

// ErrConfig marks an invalid configuration.
var ErrConfig = errors.New("invalid registrator configuration")

// finalize fills defaults and checks the settings.
func (c *Config) finalize() error {
	if c.RegistryURI == "" {
		return fmt.Errorf("%w: a registry URI is needed, such as consul://127.0.0.1:8500", ErrConfig)
	}
	switch c.Deregister {
	case "":
		c.Deregister = DeregisterAlways
	case DeregisterAlways, DeregisterOnSuccess:
	default:
		return fmt.Errorf("%w: -deregister must be %q or %q, not %q", ErrConfig, DeregisterAlways, DeregisterOnSuccess, c.Deregister)
	}
	if c.TTL < 0 || c.TTLRefresh < 0 || c.Resync < 0 {
		return fmt.Errorf("%w: -ttl, -ttl-refresh and -resync cannot be negative", ErrConfig)
	}
	if c.TTL > 0 && (c.TTLRefresh <= 0 || c.TTLRefresh >= c.TTL) {
		return fmt.Errorf("%w: -ttl-refresh must be set and shorter than -ttl", ErrConfig)
	}
	if c.RetryAttempts < -1 {
		return fmt.Errorf("%w: -retry-attempts must be -1 (forever) or more", ErrConfig)
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = 2 * time.Second
	}
	if c.HealthRefresh <= 0 {
		c.HealthRefresh = 30 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Second
	}
	if c.Logger == nil {
		level := hclog.LevelFromString(c.LogLevel)
		if level == hclog.NoLevel {
			level = hclog.Info
		}
		c.Logger = hclog.New(&hclog.LoggerOptions{Name: "registrator", Level: level, Output: os.Stderr})
	}
	return nil
}

// dockerHost resolves the engine's address.
func (c *Config) dockerHost() string {
	if c.DockerHost != "" {
		return c.DockerHost
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	if fi, err := os.Stat("/tmp/docker.sock"); err == nil && fi.Mode()&os.ModeSocket != 0 {
		return "unix:///tmp/docker.sock"
	}
	return "unix:///var/run/docker.sock"
}
