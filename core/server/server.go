// Package server is the authoritative side of the discovery core: it owns
// the state store, applies every write as a Command, answers catalog, KV,
// health, session and status queries (blocking ones included) and runs the
// leader's duties: registering itself, session TTLs and tombstone reaping.
//
// Without raft (the -dev agent) writes are applied directly in index order;
// the cluster build plugs a replicated log in front of the same Apply.
package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

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

	// TombstoneTTL is how long KV delete markers are kept (default 15m) and
	// ReconcileInterval how often leader duties re-run (default 60s).
	TombstoneTTL      time.Duration
	ReconcileInterval time.Duration
}

// Server is a single-node authoritative server.
type Server struct {
	cfg    Config
	logger hclog.Logger
	store  atomic.Pointer[state.Store]

	applyMu sync.Mutex
	index   uint64

	sessions   *sessionTimers
	tombstones *tombstoneGC

	shutdownOnce sync.Once
	shutdownCh   chan struct{}
	wg           sync.WaitGroup
}

// New starts a server with an empty in-memory store.
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
	st, err := state.New()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		logger:     cfg.Logger.Named("server"),
		shutdownCh: make(chan struct{}),
	}
	s.store.Store(st)
	s.sessions = newSessionTimers(s)
	s.tombstones = newTombstoneGC(cfg.TombstoneTTL)
	if err := s.reconcileSelf(); err != nil {
		return nil, fmt.Errorf("register server node: %w", err)
	}
	s.wg.Add(1)
	go s.leaderLoop()
	return s, nil
}

// Store is the current state store.
func (s *Server) Store() *state.Store { return s.store.Load() }

// Datacenter is the server's datacenter.
func (s *Server) Datacenter() string { return s.cfg.Datacenter }

// Shutdown stops the leader loop and timers.
func (s *Server) Shutdown() {
	s.shutdownOnce.Do(func() {
		close(s.shutdownCh)
		s.sessions.stopAll()
	})
	s.wg.Wait()
}

// apply performs one write. Indexes are handed out in apply order, so the
// store only ever sees them grow.
func (s *Server) apply(c *structs.Command) (bool, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.index++
	ok, err := s.Store().Apply(s.index, c)
	if err == nil && c.Type == structs.KVSRequestType {
		s.tombstones.hint(s.index)
	}
	return ok, err
}

// checkDC accepts the server's own datacenter or none.
func (s *Server) checkDC(dc string) error {
	if dc != "" && dc != s.cfg.Datacenter {
		return fmt.Errorf("%w %q", structs.ErrUnknownDC, dc)
	}
	return nil
}

// StatusLeader is the leader's server address.
func (s *Server) StatusLeader(context.Context) (string, error) { return s.cfg.RPCAddr, nil }

// StatusPeers are the raft peers' server addresses.
func (s *Server) StatusPeers(context.Context) ([]string, error) {
	return []string{s.cfg.RPCAddr}, nil
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

// leaderLoop runs the leader's periodic duties.
func (s *Server) leaderLoop() {
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
		case now := <-reap.C:
			if idx := s.tombstones.due(now); idx > 0 {
				_, err := s.apply(&structs.Command{Type: structs.TombstoneRequestType,
					Tombstone: &structs.TombstoneRequest{ReapIndex: idx}})
				if err != nil {
					s.logger.Error("reap KV tombstones failed", "error", err)
				}
			}
		}
	}
}
