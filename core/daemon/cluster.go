package daemon

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/beacon-sd/beacon/core/agent"
	"github.com/beacon-sd/beacon/core/gossip"
	"github.com/beacon-sd/beacon/core/rpc"
	"github.com/beacon-sd/beacon/core/server"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/version"
)

// startCluster joins the gossip pool and, on a server, opens the server
// port and starts raft. It returns the catalog the agent should use: the
// local server, or the servers over RPC on a client.
func (d *Daemon) startCluster() (agent.Backend, error) {
	cfg := d.Config()
	d.pool = rpc.NewPool()
	d.pool.TLS = d.tls
	d.joinCh = make(chan struct{})
	if cfg.Server {
		bind := net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.Ports.Server))
		ln, err := net.Listen("tcp", bind)
		if err != nil {
			return nil, fmt.Errorf("server port: %w", err)
		}
		adv := &net.TCPAddr{IP: net.ParseIP(d.node.Address), Port: ln.Addr().(*net.TCPAddr).Port}
		d.rpc = rpc.NewServer(ln, adv, d.Logger)
		d.rpc.TLS = d.tls
		go d.rpc.Serve()
	}
	keys, err := encryptKeys(cfg.Encrypt)
	if err != nil {
		return nil, err
	}
	serverEvents := make(chan struct{}, 1)
	gp, err := gossip.New(gossip.Config{
		NodeName: d.node.Node, BindAddr: cfg.BindAddr, BindPort: cfg.Ports.SerfLAN,
		AdvertiseAddr: d.node.Address, AdvertisePort: cfg.Ports.SerfLAN,
		Tags: d.gossipTags(), Keys: keys, KeyringFile: filepath.Join(cfg.DataDir, "serf", "local.keyring"),
		AcceptPlain: isFalse(cfg.EncryptVerifyIncoming), SendPlain: isFalse(cfg.EncryptVerifyOutgoing),
		ReconnectTimeout: cfg.ReconnectTimeout.D(), Logger: d.Logger,
		UserEvent: d.Events.Receive,
	})
	if err != nil {
		return nil, err
	}
	d.Gossip = gp
	d.Events.SetSend(gp.UserEvent)
	go d.fanOut(gp.Events(), serverEvents)
	if !cfg.Server {
		return &rpc.Remote{Pool: d.pool, Servers: d.aliveServers}, nil
	}
	d.Server, err = server.New(server.Config{
		Datacenter: cfg.Datacenter, NodeName: d.node.Node, NodeID: d.node.ID,
		Address: d.node.Address, ServerPort: d.rpc.Addr().(*net.TCPAddr).Port,
		RPCAddr: net.JoinHostPort(d.node.Address, strconv.Itoa(d.rpc.Addr().(*net.TCPAddr).Port)),
		Logger:  d.Logger, DataDir: cfg.DataDir, Bootstrap: cfg.Bootstrap, BootstrapExpect: cfg.BootstrapExpect,
		RaftMultiplier: raftMultiplier(cfg.Performance), RPC: d.rpc, Pool: d.pool,
		LogStore: cfg.RaftLogStore.Backend, NoLogCache: cfg.RaftLogStore.DisableLogCache,
		Members: gp.Members, MemberEvents: serverEvents,
		ACL: d.aclConfig(), InitialManagementToken: cfg.ACL.Tokens.InitialManagement,
		Autopilot: d.autopilotConfig(),
		Connect:   d.connectConfig(),
	})
	if err != nil {
		return nil, err
	}
	return d.Server, nil
}

// fanOut passes gossip's change signals on to the server and to the
// daemon's own bookkeeping.
func (d *Daemon) fanOut(in <-chan struct{}, server chan struct{}) {
	for {
		select {
		case <-d.joinCh:
			return
		case <-in:
			select {
			case server <- struct{}{}:
			default:
			}
			d.savePeers()
		}
	}
}

func encryptKeys(encrypt string) ([][]byte, error) {
	if encrypt == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return [][]byte{key}, nil
}

// isFalse reports a setting explicitly set to false.
func isFalse(b *bool) bool { return b != nil && !*b }

// raftMultiplier reads performance.raft_multiplier (default 1).
func raftMultiplier(perf map[string]interface{}) int {
	if v, ok := perf["raft_multiplier"].(float64); ok && v >= 1 {
		return int(v)
	}
	return 1
}

// gossipTags are what other agents learn about this one.
func (d *Daemon) gossipTags() map[string]string {
	cfg := d.Config()
	tags := map[string]string{
		"role": "node", "dc": cfg.Datacenter, "id": d.node.ID, "segment": "",
		"build": version.ConsulCompat + ":beacon-" + version.Version, "vsn": "2", "vsn_min": "2", "vsn_max": "3",
		"acls": "0",
	}
	if cfg.ACL.Enabled {
		tags["acls"] = "1" // Consul's tag for an agent that enforces ACLs
	}
	if cfg.Server {
		tags["role"] = "consul"
		if d.rpc != nil {
			tags["port"] = strconv.Itoa(d.rpc.Addr().(*net.TCPAddr).Port)
		} else {
			tags["port"] = strconv.Itoa(cfg.Ports.Server)
		}
		tags["raft_vsn"] = "3"
		tags[server.GossipTagKVGroups] = "1"
		tags[server.GossipTagTxn] = "1"
		if cfg.BootstrapExpect > 0 {
			tags["expect"] = strconv.Itoa(cfg.BootstrapExpect)
		}
		if cfg.Bootstrap {
			tags["bootstrap"] = "1"
		}
	}
	return tags
}

// aliveServers lists the RPC addresses of this datacenter's alive servers.
func (d *Daemon) aliveServers() []string {
	var out []string
	for _, m := range d.Gossip.Members() {
		if m.IsServer() && m.Status == structs.MemberAlive && m.Tags["dc"] == d.Config().Datacenter {
			out = append(out, m.RPCAddr())
		}
	}
	return out
}

func (d *Daemon) stopCluster() {
	if d.joinCh != nil {
		select {
		case <-d.joinCh:
		default:
			close(d.joinCh)
		}
	}
	if d.Gossip != nil {
		d.Gossip.Shutdown()
	}
}

// startJoins joins start_join at once and keeps trying retry_join, and the
// peers remembered from the last run, in the background. An agent that
// later finds itself alone (no server in sight, or no other member) keeps
// trying again, so it rejoins by itself after a partition or a restart of
// the whole cluster.
func (d *Daemon) startJoins() {
	cfg := d.Config()
	if len(cfg.StartJoin) > 0 {
		if n, err := d.Gossip.Join(cfg.StartJoin); err != nil || n == 0 {
			d.Logger.Error("join failed", "addresses", cfg.StartJoin, "error", err)
		}
	}
	go d.retryJoinLoop()
}

func (d *Daemon) retryJoinLoop() {
	cfg := d.Config()
	interval := cfg.RetryInterval.D()
	if interval <= 0 {
		interval = 30 * time.Second
	}
	attempts := 0
	first := true
	for {
		targets := append(append([]string{}, cfg.RetryJoin...), cfg.StartJoin...)
		if d.lonely() && (cfg.RejoinAfterLeave || !d.leftLastTime()) {
			targets = append(targets, d.knownPeers()...)
		}
		if len(targets) > 0 && (first || d.lonely()) {
			attempts++
			n, err := d.Gossip.Join(targets)
			if err == nil && n > 0 {
				d.Logger.Info("joined the cluster", "contacted", n)
				os.Remove(d.leftMarker())
				attempts = 0
			} else if cfg.RetryMax > 0 && attempts >= cfg.RetryMax && len(cfg.RetryJoin) > 0 {
				d.Logger.Error("giving up joining after retry_max attempts", "attempts", attempts, "error", err)
				return
			} else {
				d.Logger.Warn("join attempt failed; will retry", "addresses", targets, "error", err, "in", interval)
			}
		}
		first = false
		select {
		case <-d.joinCh:
			return
		case <-time.After(interval):
		}
	}
}

// lonely reports whether this agent has lost the cluster: alone in the
// pool, or (on a client) without an alive server.
func (d *Daemon) lonely() bool {
	alive, servers := 0, 0
	for _, m := range d.Gossip.Members() {
		if m.Status == structs.MemberAlive && m.Name != d.node.Node {
			alive++
			if m.IsServer() {
				servers++
			}
		}
	}
	return alive == 0 || (!d.Config().Server && servers == 0)
}

// peersFile remembers the members last seen, so a restarted agent can find
// the cluster again without its join addresses.
func (d *Daemon) peersFile() string { return filepath.Join(d.Config().DataDir, "serf", "peers.json") }

func (d *Daemon) savePeers() {
	var addrs []string
	for _, m := range d.Gossip.Members() {
		if m.Status == structs.MemberAlive && m.Name != d.node.Node {
			addrs = append(addrs, net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))))
		}
	}
	if len(addrs) == 0 {
		return
	}
	b, _ := json.Marshal(addrs)
	os.MkdirAll(filepath.Dir(d.peersFile()), 0o700)
	tmp := d.peersFile() + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		os.Rename(tmp, d.peersFile())
	}
}

func (d *Daemon) knownPeers() []string {
	b, err := os.ReadFile(d.peersFile())
	if err != nil {
		return nil
	}
	var addrs []string
	json.Unmarshal(b, &addrs)
	return addrs
}

// leftMarker records a graceful leave: such an agent does not rejoin its
// old peers on restart unless rejoin_after_leave is set.
func (d *Daemon) leftMarker() string { return filepath.Join(d.Config().DataDir, "serf", "left") }

func (d *Daemon) leftLastTime() bool {
	_, err := os.Stat(d.leftMarker())
	return err == nil
}

// Join asks the pool to contact addresses (the /v1/agent/join call).
func (d *Daemon) Join(addrs []string) (int, error) {
	if d.Gossip == nil {
		return 0, fmt.Errorf("a -dev agent does not gossip; it cannot join others")
	}
	n, err := d.Gossip.Join(addrs)
	if err == nil && n > 0 {
		os.Remove(d.leftMarker())
	}
	if err != nil {
		d.Logger.Error("join failed", "addresses", addrs, "error", err)
	}
	return n, err
}

// ForceLeave marks a failed member as departed.
func (d *Daemon) ForceLeave(node string, prune bool) error {
	if d.Gossip == nil {
		return fmt.Errorf("a -dev agent does not gossip")
	}
	return d.Gossip.ForceLeave(node, prune)
}

// Done is closed when the agent has shut down, e.g. after a leave.
func (d *Daemon) Done() <-chan struct{} { return d.doneCh }

// Keyring lists or changes the gossip encryption keys on every member.
func (d *Daemon) Keyring(op, key string) (structs.KeyringResult, error) {
	if d.Gossip == nil {
		return structs.KeyringResult{}, fmt.Errorf("a -dev agent does not gossip")
	}
	return d.Gossip.Keyring(op, key)
}

// autopilotConfig is the autopilot block as the server takes it.
func (d *Daemon) autopilotConfig() *structs.AutopilotConfig {
	c := d.Config().Autopilot.Config()
	return &c
}

// connectConfig is the server's Connect CA settings.
func (d *Daemon) connectConfig() server.ConnectConfig {
	return server.ConnectConfig{Enabled: d.cfg.ConnectEnabled(), ClusterID: d.cfg.Connect.CAConfig.ClusterID,
		CAConfig: d.cfg.CAProviderConfig()}
}
