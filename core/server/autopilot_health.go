package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/version"
)

// autopilotInterval is how often the leader judges the servers' health,
// promotes the new servers that have been healthy long enough and removes
// dead ones.
const autopilotInterval = 2 * time.Second

// statsTimeout bounds the leader's call for one server's raft figures.
const statsTimeout = time.Second

// autopilotState is the leader's latest judgement of the servers, and
// since when each has been healthy or not.
type autopilotState struct {
	mu     sync.Mutex
	last   *structs.AutopilotHealthReply
	judged time.Time
	stable map[string]stableSince // by raft ID
}

type stableSince struct {
	healthy bool
	since   time.Time
}

// observe records a server's health at now and returns since when it has
// been so. Call with mu held.
func (a *autopilotState) observe(id string, healthy bool, now time.Time) time.Time {
	if a.stable == nil {
		a.stable = map[string]stableSince{}
	}
	prev, ok := a.stable[id]
	if !ok || prev.healthy != healthy {
		prev = stableSince{healthy: healthy, since: now}
		a.stable[id] = prev
	}
	return prev.since
}

// reset forgets every judgement, as a server that stops leading must.
func (a *autopilotState) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last, a.stable = nil, nil
}

// ServerStats are this server's raft figures, which the leader asks every
// server for (the "ServerStats" call).
func (s *Server) ServerStats(context.Context) (structs.ServerStats, error) {
	if s.raft == nil {
		return structs.ServerStats{LastIndex: s.Store().LatestIndex(), LastTerm: 1}, nil
	}
	st := s.raft.Stats()
	var out structs.ServerStats
	out.LastIndex, _ = strconv.ParseUint(st["last_log_index"], 10, 64)
	out.LastTerm, _ = strconv.ParseUint(st["last_log_term"], 10, 64)
	switch lc := st["last_contact"]; {
	case s.IsLeader(), lc == "0", lc == "":
	case lc == "never":
		out.LastContact = -1
	default:
		d, err := time.ParseDuration(lc)
		if err != nil {
			d = -1
		}
		out.LastContact = d
	}
	return out, nil
}

// AutopilotServerHealth is the leader's judgement of every raft server's
// health: the one its last autopilot pass made, or a new one.
func (s *Server) AutopilotServerHealth(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.AutopilotHealthReply) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if err := s.authorizeGlobal(ctx, args.Token, acl.Operator, acl.Read); err != nil {
		return err
	}
	args.AllowStale = false // only the leader judges
	if done, err := s.forward(ctx, "AutopilotServerHealth", &args.QueryOptions, args, reply); done {
		return err
	}
	s.autopilot.mu.Lock()
	last, judged := s.autopilot.last, s.autopilot.judged
	s.autopilot.mu.Unlock()
	if last == nil || time.Since(judged) > 2*autopilotInterval {
		var err error
		if last, _, err = s.judgeServers(ctx, s.autopilotConfig()); err != nil {
			return err
		}
	}
	*reply = *last
	reply.Servers = append([]structs.ServerHealth(nil), last.Servers...)
	reply.KnownLeader = true
	return nil
}

// raftServers is the raft configuration; a dev server's is itself.
func (s *Server) raftServers() ([]raft.Server, error) {
	if s.raft == nil {
		return []raft.Server{{ID: raft.ServerID(s.cfg.NodeID), Address: raft.ServerAddress(s.cfg.RPCAddr), Suffrage: raft.Voter}}, nil
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	return f.Configuration().Servers, nil
}

// statsAnswer is one server's answer to the leader's ServerStats call.
type statsAnswer struct {
	stats structs.ServerStats
	err   error
}

// gatherStats asks every server for its raft figures at once.
func (s *Server) gatherStats(ctx context.Context, servers []raft.Server) map[string]statsAnswer {
	out := make(map[string]statsAnswer, len(servers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, srv := range servers {
		id, addr := string(srv.ID), string(srv.Address)
		if id == s.cfg.NodeID || s.cfg.Pool == nil {
			st, err := s.ServerStats(ctx)
			mu.Lock()
			out[id] = statsAnswer{st, err}
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, statsTimeout)
			defer cancel()
			var a statsAnswer
			a.err = s.cfg.Pool.Call(cctx, addr, "ServerStats", nil, &a.stats)
			mu.Lock()
			out[id] = a
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// judgeServers works out each raft server's health under conf, keeps it as
// the latest judgement and returns it with the raft configuration judged.
func (s *Server) judgeServers(ctx context.Context, conf structs.AutopilotConfig) (*structs.AutopilotHealthReply, []raft.Server, error) {
	servers, err := s.raftServers()
	if err != nil {
		return nil, nil, err
	}
	members := map[string]structs.Member{}
	if s.cfg.Members != nil {
		for _, m := range s.cfg.Members() {
			if m.IsServer() && m.ID() != "" && m.Tags["dc"] == s.cfg.Datacenter {
				members[m.ID()] = m
			}
		}
	}
	stats := s.gatherStats(ctx, servers)
	leader := stats[s.cfg.NodeID].stats
	leaderAddr := s.leaderAddr()
	now := time.Now().UTC()
	out := &structs.AutopilotHealthReply{Healthy: true}
	healthyVoters, voters := 0, 0
	s.autopilot.mu.Lock()
	defer s.autopilot.mu.Unlock()
	for _, srv := range servers {
		id := string(srv.ID)
		h := structs.ServerHealth{ID: id, Address: string(srv.Address), SerfStatus: structs.MemberNone.String(),
			Leader: string(srv.Address) == leaderAddr, Voter: srv.Suffrage == raft.Voter}
		if id == s.cfg.NodeID {
			h.Name, h.SerfStatus, h.Version = s.cfg.NodeName, structs.MemberAlive.String(), version.ConsulCompat
		}
		if m, ok := members[id]; ok {
			h.Name, h.SerfStatus, h.Version = m.Name, m.Status.String(), consulVersion(m.Tags["build"])
		}
		if _, node, err := s.Store().GetNode(nil, h.Name); err == nil && node != nil && h.Name != "" {
			h.Meta = node.Meta
		}
		a := stats[id]
		if a.err == nil {
			h.LastContact, h.LastTerm, h.LastIndex = a.stats.LastContact, a.stats.LastTerm, a.stats.LastIndex
		}
		h.Unhealthy = unhealthy(&h, a.err, leader, conf)
		h.Healthy = h.Unhealthy == ""
		h.StableSince = s.autopilot.observe(id, h.Healthy, now)
		out.Healthy = out.Healthy && h.Healthy
		if h.Voter {
			voters++
			if h.Healthy {
				healthyVoters++
			}
		}
		out.Servers = append(out.Servers, h)
	}
	out.FailureTolerance = max(0, healthyVoters-(voters/2+1))
	// Without redundancy zones no order of failures does better.
	out.OptimisticFailureTolerance = out.FailureTolerance
	s.autopilot.last, s.autopilot.judged = out, time.Now()
	return out, servers, nil
}

// unhealthy says why a server is not healthy under conf, "" if it is: it
// must be alive in gossip, answer the leader, have heard from the leader
// within LastContactThreshold, be in the leader's term and at most
// MaxTrailingLogs entries behind its log.
func unhealthy(h *structs.ServerHealth, statsErr error, leader structs.ServerStats, conf structs.AutopilotConfig) string {
	switch {
	case h.SerfStatus != structs.MemberAlive.String():
		return "gossip reports it " + h.SerfStatus
	case statsErr != nil:
		return fmt.Sprintf("it did not answer for its raft figures: %v", statsErr)
	case h.LastContact < 0:
		return "it has not heard from the leader"
	case h.LastContact > conf.LastContactThreshold:
		return fmt.Sprintf("it last heard from the leader %s ago, more than LastContactThreshold (%s)",
			h.LastContact, conf.LastContactThreshold)
	case h.LastTerm != leader.LastTerm:
		return fmt.Sprintf("its log is at term %d, the leader's at %d", h.LastTerm, leader.LastTerm)
	case leader.LastIndex > h.LastIndex+conf.MaxTrailingLogs:
		return fmt.Sprintf("its log is %d entries behind the leader's, more than MaxTrailingLogs (%d)",
			leader.LastIndex-h.LastIndex, conf.MaxTrailingLogs)
	}
	return ""
}

// consulVersion is the Consul version in a member's build tag
// ("1.22.3:beacon-0.1.0").
func consulVersion(build string) string {
	v, _, _ := strings.Cut(build, ":")
	return v
}

// autopilotPass is the leader's periodic autopilot duty: judge the
// servers, make voters of the new ones healthy for
// ServerStabilizationTime, and (with CleanupDeadServers) remove failed
// ones from raft.
func (s *Server) autopilotPass(ctx context.Context) {
	conf := s.autopilotConfig()
	health, _, err := s.judgeServers(ctx, conf)
	if err != nil {
		s.logger.Debug("judging the servers' health failed", "error", err)
		return
	}
	s.promoteStable(health, conf)
	if conf.CleanupDeadServers {
		s.cleanupDeadServers(conf)
	}
}

// promoteStable makes a voter of each non-voting server that has been
// healthy for ServerStabilizationTime.
func (s *Server) promoteStable(health *structs.AutopilotHealthReply, conf structs.AutopilotConfig) {
	for _, h := range health.Servers {
		if h.Voter || !h.Healthy || time.Since(h.StableSince) < conf.ServerStabilizationTime {
			continue
		}
		if err := s.raft.AddVoter(raft.ServerID(h.ID), raft.ServerAddress(h.Address), 0, 0).Error(); err != nil {
			s.logger.Error("promoting a server to voter failed", "server", h.Name, "error", err)
			continue
		}
		s.logger.Info("promoted a server to voter", "server", h.Name, "address", h.Address,
			"healthy_for", time.Since(h.StableSince).Round(time.Millisecond))
	}
}
