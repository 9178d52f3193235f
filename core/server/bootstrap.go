package server

import (
	"context"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/structs"
)

func splitPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

// bootstrapExpect waits until gossip shows bootstrap_expect servers of this
// datacenter, all expecting the same number, then bootstraps raft with them
// once, unless one of them already belongs to a cluster (a replacement
// server joining an existing one must not start a second cluster).
func (s *Server) bootstrapExpect() {
	defer s.wg.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	warned := ""
	for {
		select {
		case <-s.shutdownCh:
			return
		case <-t.C:
		case <-s.cfg.MemberEvents:
		}
		if has, _ := s.raftHasState(context.Background()); has {
			return // joined an existing cluster, or already bootstrapped
		}
		servers, problem := s.expectedServers()
		if problem != "" {
			if problem != warned {
				s.logger.Error("not bootstrapping", "reason", problem)
				warned = problem
			}
			continue
		}
		if servers == nil {
			continue
		}
		if s.peersHaveState(servers) {
			s.logger.Info("a peer already belongs to a cluster; waiting to be added to it instead of bootstrapping")
			continue
		}
		cfg := raft.Configuration{}
		for _, m := range servers {
			cfg.Servers = append(cfg.Servers, raft.Server{
				ID: raft.ServerID(m.ID()), Address: raft.ServerAddress(m.RPCAddr()), Suffrage: raft.Voter})
		}
		if err := s.raft.BootstrapCluster(cfg).Error(); err != nil && err != raft.ErrCantBootstrap {
			s.logger.Error("bootstrap failed", "error", err)
			continue
		}
		s.logger.Info("bootstrapped the cluster", "servers", len(servers))
		return
	}
}

// expectedServers returns the alive servers to bootstrap with once there
// are enough, or a problem that prevents bootstrapping.
func (s *Server) expectedServers() ([]structs.Member, string) {
	if s.cfg.Members == nil {
		return nil, ""
	}
	var servers []structs.Member
	for _, m := range s.cfg.Members() {
		if !m.IsServer() || m.Status != structs.MemberAlive || m.Tags["dc"] != s.cfg.Datacenter {
			continue
		}
		if e := m.Expect(); e != 0 && e != s.cfg.BootstrapExpect {
			return nil, "server " + m.Name + " expects " + strconv.Itoa(e) + " servers, this one " +
				strconv.Itoa(s.cfg.BootstrapExpect) + "; bootstrap_expect must match on every server"
		}
		if m.ID() == "" || m.RPCAddr() == "" {
			continue
		}
		servers = append(servers, m)
	}
	if len(servers) < s.cfg.BootstrapExpect {
		return nil, ""
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].ID() < servers[j].ID() })
	return servers, ""
}

// peersHaveState asks each peer whether it already has raft state.
func (s *Server) peersHaveState(servers []structs.Member) bool {
	for _, m := range servers {
		if m.ID() == s.cfg.NodeID {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var has bool
		err := s.cfg.Pool.Call(ctx, m.RPCAddr(), "RaftHasState", nil, &has)
		cancel()
		if err == nil && has {
			return true
		}
	}
	return false
}
