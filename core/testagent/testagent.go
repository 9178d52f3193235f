// Package testagent starts real in-process agents on free loopback ports for
// tests, with the official Consul API client pointed at them.
package testagent

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/daemon"
	"github.com/beacon-sd/beacon/internal/freeport"
)

// Agent is a running test agent.
type Agent struct {
	*daemon.Daemon
	// HTTPAddr is "127.0.0.1:port" of the HTTP API; HTTPSAddr that of the
	// HTTPS API when ports.https is set.
	HTTPAddr  string
	HTTPSAddr string
	// DNSAddr is "127.0.0.1:port" of the DNS interface (UDP and TCP).
	DNSAddr string
	// Client is the official API client for HTTPAddr.
	Client *api.Client
}

type options struct {
	sources []config.Source
	files   []string
	dev     bool
	watches daemon.WatchStarter
}

// Option changes how a test agent is configured.
type Option func(*options)

// WithHCL adds an HCL config snippet, applied after the defaults.
func WithHCL(hcl string) Option {
	return func(o *options) {
		o.sources = append(o.sources, config.Source{Name: "test hcl", Format: "hcl", Data: []byte(hcl)})
	}
}

// WithJSON adds a JSON config snippet.
func WithJSON(js string) Option {
	return func(o *options) {
		o.sources = append(o.sources, config.Source{Name: "test json", Format: "json", Data: []byte(js)})
	}
}

// WithConfigFile adds a config file (or directory), read again on each
// reload.
func WithConfigFile(path string) Option {
	return func(o *options) { o.files = append(o.files, path) }
}

// WithWatches runs the configuration's watches with s (watch.Start; the
// test agent cannot import it itself, as the watcher's tests use it).
func WithWatches(s daemon.WatchStarter) Option {
	return func(o *options) { o.watches = s }
}

// Client makes the agent a client agent (not -dev): its own gossip port,
// a data directory of its own, and no server unless a test joins one.
func Client(t testing.TB) Option {
	dir := t.TempDir()
	lan := freeport.Port(t)
	return func(o *options) {
		o.dev = false
		o.sources = append(o.sources, config.Source{Name: "test client", Format: "json", Data: []byte(fmt.Sprintf(
			`{"server":false,"data_dir":%q,"bind_addr":"127.0.0.1","client_addr":"127.0.0.1","ports":{"serf_lan":%d,"serf_wan":-1}}`,
			dir, lan))})
	}
}

var seq atomic.Int64

// Start runs an `agent -dev` with its HTTP API on a free port and stops it
// when the test ends.
func Start(t testing.TB, opts ...Option) *Agent {
	t.Helper()
	o := &options{dev: true}
	for _, opt := range opts {
		opt(o)
	}
	name := fmt.Sprintf("test-node-%d-%d", os.Getpid(), seq.Add(1))
	base := config.Source{Name: "testagent", Format: "json", Data: []byte(fmt.Sprintf(
		`{"node_name":%q,"ports":{"http":0,"dns":0,"server":8300},"log_level":"warn"}`, name))}
	srcs := append([]config.Source{base}, o.sources...)
	load := func() (*config.Config, error) {
		files, err := config.ReadSources(o.files, "")
		if err != nil {
			return nil, err
		}
		return config.Build(o.dev, append(srcs[:len(srcs):len(srcs)], files...))
	}
	cfg, err := load()
	if err != nil {
		t.Fatalf("testagent config: %v", err)
	}
	level := hclog.Warn
	if os.Getenv("BEACON_TEST_LOG") != "" {
		level = hclog.Debug
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: name, Level: level, Output: testWriter{t}})
	d, err := daemon.Start(cfg, daemon.Options{Logger: logger, Load: load, Watches: o.watches})
	if err != nil {
		t.Fatalf("testagent start: %v", err)
	}
	t.Cleanup(d.Shutdown)
	a := &Agent{Daemon: d}
	if addrs := d.HTTPAddrs(); len(addrs) > 0 {
		a.HTTPAddr = addrs[0].String()
	}
	if addrs := d.HTTPSAddrs(); len(addrs) > 0 {
		a.HTTPSAddr = addrs[0].String()
	}
	if a.HTTPAddr == "" && a.HTTPSAddr == "" {
		t.Fatal("testagent: no HTTP or HTTPS listener")
	}
	if dns := d.DNSAddrs(); len(dns) > 0 {
		a.DNSAddr = dns[0].String()
	}
	if a.HTTPAddr != "" {
		ac := api.DefaultNonPooledConfig()
		ac.Address = a.HTTPAddr
		a.Client, err = api.NewClient(ac)
		if err != nil {
			t.Fatalf("testagent client: %v", err)
		}
	}
	return a
}

// HTTPSClient is an official API client for the HTTPS API with the given
// CA and client certificate files.
func (a *Agent) HTTPSClient(t testing.TB, tc api.TLSConfig) *api.Client {
	t.Helper()
	if a.HTTPSAddr == "" {
		t.Fatal("testagent: the agent has no HTTPS listener (set ports.https)")
	}
	ac := api.DefaultNonPooledConfig()
	ac.Address, ac.Scheme, ac.TLSConfig = a.HTTPSAddr, "https", tc
	c, err := api.NewClient(ac)
	if err != nil {
		t.Fatalf("testagent HTTPS client: %v", err)
	}
	return c
}

// URL is the agent's HTTP base URL plus path.
func (a *Agent) URL(path string) string {
	return "http://" + a.HTTPAddr + "/" + strings.TrimPrefix(path, "/")
}

// testWriter sends agent logs to the test log so they show only on failure.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
