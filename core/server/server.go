// Package server is the authoritative side of the discovery core: it owns
// the state store, applies every write as a Command, answers catalog, KV,
// health, session and status queries (blocking ones included), forwards
// what the leader must answer, and runs the leader's duties: turning gossip
// into the catalog, managing raft peers, session TTLs, tombstone reaping,
// the builtin ACL rows. Every request is authorized here, by the server
// that answers it, with the token it carries.
//
// Without raft (the -dev agent) writes are applied directly in index order;
// with raft the log's FSM calls the same Apply.
package server

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/rpc"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/version"
)

// Config is what a server needs to know about itself.
type Config struct {
	Datacenter string
	NodeName   string
	NodeID     string
	// Address is the node's advertised address and RPCAddr its server
	// "ip:port", reported by /v1/status/leader.
	Address string
	RPCAddr string
	// ServerPort is the port of the "consul" service the server registers.
	ServerPort int
	Logger     hclog.Logger

	// DevMode keeps everything in memory and applies writes directly:
	// no raft, no peers.
	DevMode bool
	// DataDir holds the raft log and snapshots.
	DataDir         string
	Bootstrap       bool
	BootstrapExpect int
	RaftMultiplier  int
	// LogStore is "wal", "boltdb", or empty for what the data dir has
	// (wal when it has nothing); NoLogCache skips the in-memory cache of
	// recent entries.
	LogStore   string
	NoLogCache bool
	// RPC is the server port; Pool reaches other servers.
	RPC  *rpc.Server
	Pool *rpc.Pool
	// Members lists the gossip pool and MemberEvents signals its changes;
	// the leader turns them into the catalog's serfHealth checks.
	Members      func() []structs.Member
	MemberEvents <-chan struct{}

	// TombstoneTTL is how long KV delete markers are kept (default 15m),
	// ReconcileInterval how often leader duties re-run (default 60s) and
	// DeadServerTimeout how long a failed server stays a raft peer
	// (default 30s).
	TombstoneTTL      time.Duration
	ReconcileInterval time.Duration
	DeadServerTimeout time.Duration

	// ACL is how requests are authorized (off unless Enabled); the leader
	// creates InitialManagementToken (tokens.initial_management) if set.
	ACL                    acl.Config
	InitialManagementToken string

	// Connect is the built-in CA's configuration.
	Connect ConnectConfig
	// Autopilot is the autopilot configuration a new cluster starts with
	// (the agent's autopilot block); nil for the defaults.
	Autopilot *structs.AutopilotConfig
}

// Server is an authoritative server: a single in-memory one in dev mode,
// else a raft peer.
type Server struct {
	cfg    Config
	logger hclog.Logger
	store  atomic.Pointer[state.Store]

	// dev mode applies in order under applyMu
	applyMu sync.Mutex
	index   uint64

	// raft mode
	raft      *raft.Raft
	raftStore io.Closer
	transport *raft.NetworkTransport
	hadState  bool
	kvGroups  groupCommit // KV writes into the log, as leader
	kvForward groupCommit // KV writes to the leader, as follower
	// groupsCheck caches groupsAllowed's answer; groupsMu serialises
	// working it out.
	groupsCheck atomic.Pointer[groupsAnswer]
	groupsMu    sync.Mutex
	// readyForReads is set once a new leader has applied the whole log;
	// lease says how long its leadership is known to hold.
	readyForReads atomic.Bool
	lease         lease
	// restoreMu runs user restores one at a time; userRestore is the
	// store of the one under way (see SnapshotRestore).
	restoreMu   sync.Mutex
	userRestore atomic.Pointer[userRestore]

	acl       *acl.Resolver
	autopilot autopilotState
	// caMu makes the CA's changes one at a time on the leader.
	caMu sync.Mutex

	sessions   *sessionTimers
	tombstones *tombstoneGC
	failedAt   map[string]time.Time // failed servers, by node name
	// reconcileMu makes reconcile passes and NodeLeave calls one at a
	// time; leaving (under it) holds the nodes that asked to leave.
	reconcileMu sync.Mutex
	leaving     map[string]leaveRequest

	shutdownOnce sync.Once
	shutdownCh   chan struct{}
	lifetime     context.Context // ends at Shutdown
	endLifetime  context.CancelFunc
	wg           sync.WaitGroup
}

// New starts a server.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.TombstoneTTL == 0 {
		cfg.TombstoneTTL = 15 * time.Minute
	}
	if cfg.ReconcileInterval == 0 {
		cfg.ReconcileInterval = 60 * time.Second
	}
	if cfg.DeadServerTimeout == 0 {
		cfg.DeadServerTimeout = 30 * time.Second
	}
	if cfg.RPC == nil {
		cfg.DevMode = true
	}
	if cfg.Autopilot == nil {
		def := structs.DefaultAutopilotConfig()
		cfg.Autopilot = &def
	}
	if err := cfg.Autopilot.Validate(); err != nil {
		return nil, fmt.Errorf("autopilot: %w", err)
	}
	st, err := state.New()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		logger:     cfg.Logger.Named("server"),
		shutdownCh: make(chan struct{}),
		failedAt:   map[string]time.Time{},
		leaving:    map[string]leaveRequest{},
	}
	s.store.Store(st)
	s.lifetime, s.endLifetime = context.WithCancel(context.Background())
	s.kvGroups.send = s.sendKVGroup
	s.kvForward.send = s.forwardKVGroup
	cfg.ACL.Datacenter = cfg.Datacenter
	cfg.ACL.TokenTTL = 0 // a server reads its own store every time
	if cfg.ACL.Logger == nil {
		cfg.ACL.Logger = s.logger
	}
	s.acl = acl.NewResolver(cfg.ACL, func(ctx context.Context, secret string) (*structs.ACLIdentity, error) {
		return s.aclIdentity(ctx, secret, false)
	})
	s.sessions = newSessionTimers(s)
	s.tombstones = newTombstoneGC(cfg.TombstoneTTL)
	if cfg.DevMode {
		if err := s.reconcileSelf(); err != nil {
			return nil, fmt.Errorf("register server node: %w", err)
		}
		if err := s.initializeACLs(); err != nil {
			return nil, fmt.Errorf("initialize ACLs: %w", err)
		}
		if err := s.initializeCA(); err != nil {
			return nil, fmt.Errorf("initialize the Connect CA: %w", err)
		}
		s.initAutopilot()
		s.wg.Add(1)
		go s.devLoop()
		return s, nil
	}
	if err := s.setupRaft(); err != nil {
		s.closeRaft()
		return nil, err
	}
	cfg.RPC.SetHandler(rpc.Mux(s.endpoints()))
	s.wg.Add(1)
	go s.monitorLeadership()
	if cfg.BootstrapExpect > 0 && !s.hadState {
		s.wg.Add(1)
		go s.bootstrapExpect()
	}
	return s, nil
}

// Store is the current state store.
func (s *Server) Store() *state.Store { return s.store.Load() }

// Datacenter is the server's datacenter.
func (s *Server) Datacenter() string { return s.cfg.Datacenter }

// Shutdown stops leader duties, timers and raft.
func (s *Server) Shutdown() {
	s.shutdownOnce.Do(func() {
		close(s.shutdownCh)
		s.endLifetime()
		s.sessions.stopAll()
	})
	s.wg.Wait()
	s.closeRaft()
}

// closeRaft stops raft and closes its log. s.raft stays set, shut down:
// it also means "not dev mode", and a call still running must fail (raft
// answers ErrRaftShutdown) rather than write to the store directly as a
// dev server would.
func (s *Server) closeRaft() {
	if s.raft != nil {
		s.raft.Shutdown().Error()
	}
	if s.transport != nil {
		s.transport.Close()
		s.transport = nil
	}
	if s.raftStore != nil {
		s.raftStore.Close()
		s.raftStore = nil
	}
}

// apply performs one write: directly in dev mode, through raft otherwise.
func (s *Server) apply(c *structs.Command) (bool, error) {
	if s.raft != nil {
		if c.Type == structs.KVSRequestType && c.KVS != nil && s.groupsAllowed() {
			r := s.kvGroups.writeOne(c.KVS)
			return r.ok, r.err
		}
		return s.applyRaft(c)
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.index++
	ok, err := s.Store().Apply(s.index, c)
	if err == nil && c.Type == structs.KVSRequestType {
		s.tombstones.hint(s.index)
	}
	return ok, err
}

// IsLeader reports whether this server leads (always, in dev mode).
func (s *Server) IsLeader() bool {
	return s.raft == nil || s.raft.State() == raft.Leader
}

// leaderAddr is the leader's RPC address, "" when there is none.
func (s *Server) leaderAddr() string {
	if s.raft == nil {
		return s.cfg.RPCAddr
	}
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// checkDC accepts the server's own datacenter or none.
func (s *Server) checkDC(dc string) error {
	if dc != "" && dc != s.cfg.Datacenter {
		return fmt.Errorf("%w %q", structs.ErrUnknownDC, dc)
	}
	return nil
}

// StatusLeader is the leader's server address, "" when there is none.
func (s *Server) StatusLeader(context.Context) (string, error) { return s.leaderAddr(), nil }

// StatusPeers are the raft peers' server addresses.
func (s *Server) StatusPeers(context.Context) ([]string, error) {
	if s.raft == nil {
		return []string{s.cfg.RPCAddr}, nil
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	peers := []string{}
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			peers = append(peers, string(srv.Address))
		}
	}
	return peers, nil
}

// CatalogDatacenters lists known datacenters.
func (s *Server) CatalogDatacenters(context.Context) ([]string, error) {
	return []string{s.cfg.Datacenter}, nil
}

// reconcileSelf makes sure the server's node is in the catalog with a
// passing serfHealth check and the "consul" service.
func (s *Server) reconcileSelf() error {
	st := s.Store()
	_, node, svcs, err := st.NodeServices(nil, s.cfg.NodeName)
	if err != nil {
		return err
	}
	_, checks, err := st.NodeChecks(nil, s.cfg.NodeName)
	if err != nil {
		return err
	}
	serfOK, svcOK := false, false
	for _, c := range checks {
		if c.CheckID == structs.SerfCheckID && c.Status == structs.HealthPassing {
			serfOK = true
		}
	}
	for _, sv := range svcs {
		if sv.ID == structs.ConsulServiceID && sv.Port == s.cfg.ServerPort {
			svcOK = true
		}
	}
	if node != nil && node.Address == s.cfg.Address && serfOK && svcOK {
		return nil
	}
	req := &structs.RegisterRequest{
		Datacenter:     s.cfg.Datacenter,
		ID:             s.cfg.NodeID,
		Node:           s.cfg.NodeName,
		Address:        s.cfg.Address,
		SkipNodeUpdate: node != nil && node.Address == s.cfg.Address,
		Service: &structs.NodeService{
			ID: structs.ConsulServiceID, Service: structs.ConsulServiceName,
			Port: s.cfg.ServerPort, Weights: structs.Weights{Passing: 1, Warning: 1},
			Meta: map[string]string{"version": version.ConsulCompat, "beacon_version": version.Version},
		},
		Check: &structs.HealthCheck{
			CheckID: structs.SerfCheckID, Name: structs.SerfCheckName,
			Status: structs.HealthPassing, Output: structs.SerfCheckAliveOutput, Type: "",
		},
	}
	if node == nil {
		req.NodeMeta = map[string]string{structs.NetworkSegmentMetaKey: ""}
		req.TaggedAddresses = map[string]string{"lan": s.cfg.Address, "wan": s.cfg.Address,
			"lan_ipv4": s.cfg.Address, "wan_ipv4": s.cfg.Address}
	}
	_, err = s.apply(&structs.Command{Type: structs.RegisterRequestType, Register: req})
	return err
}

// devLoop runs the leader's periodic duties of a dev server.
func (s *Server) devLoop() {
	defer s.wg.Done()
	reconcile := time.NewTicker(s.cfg.ReconcileInterval)
	defer reconcile.Stop()
	reap := time.NewTicker(s.tombstones.granularity)
	defer reap.Stop()
	for {
		select {
		case <-s.shutdownCh:
			return
		case <-reconcile.C:
			if err := s.reconcileSelf(); err != nil {
				s.logger.Error("reconcile server node failed", "error", err)
			}
			if err := s.initializeCA(); err != nil {
				s.logger.Error("Connect CA upkeep failed", "error", err)
			}
		case now := <-reap.C:
			s.reapTombstones(now)
		}
	}
}

// reapTombstones drops KV delete markers older than the TTL.
func (s *Server) reapTombstones(now time.Time) {
	if idx := s.tombstones.due(now); idx > 0 {
		_, err := s.apply(&structs.Command{Type: structs.TombstoneRequestType,
			Tombstone: &structs.TombstoneRequest{ReapIndex: idx}})
		if err != nil {
			s.logger.Error("reap KV tombstones failed", "error", err)
		}
	}
}
