// Package daemon assembles a running agent from its configuration: the
// server (on server agents), the local agent, the HTTP listeners, the PID
// file; and takes them down again. It is the one place both the `agent`
// command and the tests start an agent from.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/agent"
	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/dns"
	"github.com/beacon-sd/beacon/core/event"
	"github.com/beacon-sd/beacon/core/gossip"
	beaconhttp "github.com/beacon-sd/beacon/core/http"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/logging"
	"github.com/beacon-sd/beacon/core/rpc"
	"github.com/beacon-sd/beacon/core/server"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/telemetry"
	"github.com/beacon-sd/beacon/core/tlsutil"
	"github.com/beacon-sd/beacon/core/ui"
	"github.com/beacon-sd/beacon/internal/memlimit"
)

// Options are what the caller supplies besides the configuration.
type Options struct {
	Logger hclog.Logger
	// Load re-reads the configuration on reload; nil disables reload.
	Load func() (*config.Config, error)
	// Watches runs the configuration's watches; without it, an agent
	// whose configuration has watches does not start.
	Watches WatchStarter
}

// Daemon is a running agent.
type Daemon struct {
	Logger  hclog.Logger
	Server  *server.Server
	Agent   *agent.Agent
	Metrics *telemetry.Metrics

	Gossip *gossip.Pool
	// Events are the user events this agent fires and keeps.
	Events *event.Events
	tls    *tlsutil.Configurator
	rpc    *rpc.Server
	pool   *rpc.Pool
	joinCh chan struct{}
	doneCh chan struct{}

	mu         sync.Mutex
	cfg        *config.Config
	load       func() (*config.Config, error)
	http       *httpserver.Server
	httpAddrs  []net.Addr
	httpsAddrs []net.Addr
	dns        *dns.Server
	dnsAddrs   []net.Addr
	runWatches WatchStarter
	// watchesStop ends the running watches.
	watchesStop func()
	node        structs.Node
	started     time.Time
	closeOnce   sync.Once
}

// Start brings an agent up. On error everything started is stopped again.
func Start(cfg *config.Config, opts Options) (*Daemon, error) {
	logger := opts.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "beacon", Level: hclog.LevelFromString(cfg.LogLevel)})
	}
	// Tapped, so /v1/agent/monitor can follow the log at any level.
	logger = logging.Tap(logger)
	d := &Daemon{Logger: logger, Metrics: telemetry.New(), cfg: cfg, load: opts.Load, started: time.Now(),
		runWatches: opts.Watches, doneCh: make(chan struct{})}
	if err := d.start(); err != nil {
		d.Shutdown()
		return nil, err
	}
	return d, nil
}

// start brings up each part in turn; Start undoes them on error.
func (d *Daemon) start() (err error) {
	cfg, logger := d.cfg, d.Logger
	if err := d.identify(); err != nil {
		return err
	}
	if d.tls, err = tlsutil.New(cfg); err != nil {
		return err
	}
	tokens, err := d.aclTokens()
	if err != nil {
		return err
	}
	d.Events = event.New(event.Config{Node: d.node.Node, Logger: logger})
	var backend agent.Backend
	if cfg.DevMode {
		d.Server, err = server.New(server.Config{
			Datacenter: cfg.Datacenter, NodeName: d.node.Node, NodeID: d.node.ID,
			Address: d.node.Address, ServerPort: cfg.Ports.Server,
			RPCAddr: net.JoinHostPort(d.node.Address, strconv.Itoa(cfg.Ports.Server)),
			Logger:  logger, DevMode: true,
			ACL: d.aclConfig(), InitialManagementToken: cfg.ACL.Tokens.InitialManagement,
			Autopilot: d.autopilotConfig(),
			Connect:   d.connectConfig(),
		})
		if err != nil {
			return err
		}
		backend = d.Server
	} else if backend, err = d.startCluster(); err != nil {
		return err
	}
	dataDir := cfg.DataDir
	if cfg.DevMode {
		dataDir = ""
	}
	d.Agent, err = agent.New(agent.Config{
		Node: d.node, Server: cfg.Server,
		EnableScriptChecks: cfg.EnableScriptChecks, EnableLocalScriptChecks: cfg.EnableLocalScriptChecks,
		DataDir: dataDir, Tokens: tokens, Logger: logger,
	}, backend)
	if err != nil {
		return err
	}
	if err := d.Agent.ReloadDefinitions(cfg.AllServices(), cfg.AllChecks()); err != nil {
		return fmt.Errorf("config definitions: %w", err)
	}
	d.Events.SetServices(d.Agent.Services)
	d.Agent.Start()
	if cfg.DevMode {
		if err := d.Agent.SyncNow(); err != nil {
			logger.Warn("first sync with the catalog failed; retrying in the background", "error", err)
		}
	}
	if err := d.listenHTTP(); err != nil {
		return err
	}
	if err := d.listenDNS(backend); err != nil {
		return err
	}
	if err := d.startWatches(cfg); err != nil {
		return err
	}
	if cfg.PidFile != "" {
		if err := os.WriteFile(cfg.PidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("pid_file: %w", err)
		}
	}
	if !cfg.DevMode {
		d.startJoins()
	}
	trimMappedBinary()
	logger.Info("agent started", "node", d.node.Node, "datacenter", cfg.Datacenter,
		"server", cfg.Server, "http", d.HTTPAddrs(), "https", d.HTTPSAddrs(), "dns", d.DNSAddrs(),
		"tls", d.tls.Describe())
	d.warnExposed()
	return nil
}

// identify works out the node's name, ID and advertised address.
func (d *Daemon) identify() error {
	cfg := d.cfg
	addr, err := advertiseAddr(cfg)
	if err != nil {
		return err
	}
	id, err := nodeID(cfg)
	if err != nil {
		return err
	}
	meta := map[string]string{structs.NetworkSegmentMetaKey: ""}
	for k, v := range cfg.NodeMeta {
		meta[k] = v
	}
	wan := addr
	if cfg.AdvertiseAddrWAN != "" {
		wan = cfg.AdvertiseAddrWAN
	}
	d.node = structs.Node{
		ID: id, Node: cfg.NodeName, Address: addr, Datacenter: cfg.Datacenter,
		TaggedAddresses: map[string]string{"lan": addr, "lan_ipv4": addr, "wan": wan, "wan_ipv4": wan},
		Meta:            meta,
	}
	return nil
}

// advertiseAddr is advertise_addr, else bind_addr, else (for 0.0.0.0) the
// host's one private IPv4 address.
func advertiseAddr(cfg *config.Config) (string, error) {
	if cfg.AdvertiseAddr != "" {
		return cfg.AdvertiseAddr, nil
	}
	if ip := net.ParseIP(cfg.BindAddr); ip != nil && !ip.IsUnspecified() {
		return cfg.BindAddr, nil
	}
	ifaces, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("find an address to advertise: %w", err)
	}
	var found []string
	for _, a := range ifaces {
		ipn, ok := a.(*net.IPNet)
		if ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() && ipn.IP.IsPrivate() {
			found = append(found, ipn.IP.String())
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no private IPv4 address found to advertise; set -advertise or -bind")
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("several private IPv4 addresses found (%s); pick one with -advertise or -bind", strings.Join(found, ", "))
}

// nodeID is node_id, else the one kept in the data dir, else a new one
// (kept in the data dir when there is one).
func nodeID(cfg *config.Config) (string, error) {
	if cfg.NodeID != "" {
		return strings.ToLower(cfg.NodeID), nil
	}
	if cfg.DevMode || cfg.DataDir == "" {
		return structs.GenerateUUID(), nil
	}
	path := filepath.Join(cfg.DataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	}
	id := structs.GenerateUUID()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("data_dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save node ID: %w", err)
	}
	return id, nil
}

// listenHTTP opens the HTTP API on every client address, and HTTPS on
// ports.https.
func (d *Daemon) listenHTTP() error {
	cfg := d.cfg
	if cfg.Ports.HTTP < 0 && cfg.Ports.HTTPS < 0 {
		return nil
	}
	kvMax := cfg.Limits.KVMaxValueSize
	if kvMax <= 0 {
		kvMax = structs.MaxKVValueSize
	}
	var webUI http.Handler
	if cfg.UI || (cfg.UIConfig.Enabled != nil && *cfg.UIConfig.Enabled) {
		webUI = &ui.Handler{Backend: d.Agent.Backend(), Datacenter: cfg.Datacenter, NodeName: d.node.Node}
	}
	api := beaconhttp.New(beaconhttp.Config{
		Agent: d.Agent, Datacenter: cfg.Datacenter, Members: d.members, Self: d.self, ACL: d.agentResolver(),
		Reload: d.Reload, Join: d.Join, Leave: d.Leave, ForceLeave: d.ForceLeave, Keyring: d.Keyring,
		Events: d.Events, Metrics: d.Metrics, Logger: d.Logger,
		MaxKVSize: kvMax, MaxTxnLen: cfg.Limits.TxnMaxReqLen, EnableDebug: cfg.EnableDebug, UI: webUI, DataDir: cfg.DataDir,
	})
	d.http = &httpserver.Server{
		Handler:           api,
		MaxConnsPerClient: cfg.Limits.HTTPMaxConnsPerClient,
		MaxBodyBytes:      beaconhttp.MaxBody(kvMax, cfg.Limits.TxnMaxReqLen),
		Admit:             api.Admit,
		Freed:             memlimit.Freed,
		HandshakeTimeout:  cfg.Limits.HTTPSHandshakeTimeout.D(),
		Logger:            d.Logger.Named("http"),
	}
	if cfg.Ports.HTTP >= 0 {
		if err := d.serveHTTP("HTTP API", cfg.Addresses.HTTP, cfg.Ports.HTTP, nil, &d.httpAddrs); err != nil {
			return err
		}
	}
	if cfg.Ports.HTTPS >= 0 {
		return d.serveHTTP("HTTPS API", cfg.Addresses.HTTPS, cfg.Ports.HTTPS, d.tls.IncomingHTTPS(), &d.httpsAddrs)
	}
	return nil
}

// serveHTTP listens on each address (addresses.<x>, else client_addr) at
// port and serves the API there, with TLS when tlsCfg is set.
func (d *Daemon) serveHTTP(what, addresses string, port int, tlsCfg *tls.Config, bound *[]net.Addr) error {
	addrs := strings.Fields(d.cfg.ClientAddr)
	if addresses != "" {
		addrs = strings.Fields(addresses)
	}
	for _, a := range addrs {
		var l net.Listener
		var err error
		if path, ok := strings.CutPrefix(a, "unix://"); ok {
			_ = os.Remove(path)
			l, err = net.Listen("unix", path)
		} else {
			l, err = net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		d.mu.Lock()
		*bound = append(*bound, l.Addr())
		d.mu.Unlock()
		go func() {
			err := d.http.ServeTLS(l, tlsCfg) // a nil config serves plain HTTP
			if err != nil && !errors.Is(err, httpserver.ErrServerClosed) {
				d.Logger.Error(what+" stopped", "address", l.Addr(), "error", err)
			}
		}()
	}
	return nil
}

// HTTPAddrs are the addresses the HTTP API listens on.
func (d *Daemon) HTTPAddrs() []net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]net.Addr(nil), d.httpAddrs...)
}

// HTTPSAddrs are the addresses the HTTPS API listens on.
func (d *Daemon) HTTPSAddrs() []net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]net.Addr(nil), d.httpsAddrs...)
}

// Config is the configuration in effect.
func (d *Daemon) Config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Reload re-reads the configuration: service and check definitions, TLS
// certificates and CAs, watches and the log level take effect; other
// changes need a restart.
func (d *Daemon) Reload() error {
	if d.load == nil {
		return fmt.Errorf("this agent was started without config sources to reload")
	}
	cfg, err := d.load()
	if err != nil {
		d.Logger.Error("reload failed; keeping the running configuration", "error", err)
		return err
	}
	if err := d.tls.Reload(cfg); err != nil {
		d.Logger.Error("reload failed; keeping the running configuration and TLS certificates", "error", err)
		return err
	}
	if err := d.Agent.ReloadDefinitions(cfg.AllServices(), cfg.AllChecks()); err != nil {
		d.Logger.Error("reload: some definitions were rejected", "error", err)
		return err
	}
	d.Logger.SetLevel(hclog.LevelFromString(cfg.LogLevel))
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	if err := d.startWatches(cfg); err != nil {
		d.Logger.Error("reload: the watches could not start again", "error", err)
		return err
	}
	d.Logger.Info("configuration reloaded", "services", len(cfg.AllServices()), "checks", len(cfg.AllChecks()))
	return nil
}

// Shutdown stops the HTTP API, the agent and the server.
func (d *Daemon) Shutdown() {
	d.closeOnce.Do(func() {
		d.stopWatches()
		if d.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = d.http.Shutdown(ctx)
		}
		if d.dns != nil {
			d.dns.Shutdown()
		}
		if d.Agent != nil {
			d.Agent.Shutdown()
		}
		d.stopCluster()
		if d.Server != nil {
			d.Server.Shutdown()
		}
		if d.rpc != nil {
			d.rpc.Shutdown()
		}
		if d.pool != nil {
			d.pool.Close()
		}
		if d.cfg.PidFile != "" {
			_ = os.Remove(d.cfg.PidFile)
		}
		close(d.doneCh)
	})
}
