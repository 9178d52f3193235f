package server

import (
	"context"
	"errors"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/structs"
)

// errAutopilotUninitialized answers a read of the autopilot configuration
// before any leader has stored the first one.
var errAutopilotUninitialized = errors.New("the autopilot configuration is not initialized yet: no leader has stored it; retry once the cluster has a leader")

// AutopilotGetConfiguration reads the stored autopilot configuration.
func (s *Server) AutopilotGetConfiguration(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.AutopilotConfigReply) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if err := s.authorizeGlobal(ctx, args.Token, acl.Operator, acl.Read); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "AutopilotGetConfiguration", &args.QueryOptions, args, reply); done {
		return err
	}
	idx, c, err := s.Store().AutopilotConfig()
	if err != nil {
		return err
	}
	if c == nil {
		return errAutopilotUninitialized
	}
	reply.Config = *c
	reply.Index = idx
	reply.KnownLeader = s.leaderAddr() != ""
	return nil
}

// AutopilotSetConfiguration replaces the autopilot configuration; with CAS,
// only if it is still at the index given, and the answer says whether it
// was.
func (s *Server) AutopilotSetConfiguration(ctx context.Context, args *structs.AutopilotSetRequest) (bool, error) {
	if err := s.checkDC(args.Datacenter); err != nil {
		return false, err
	}
	if err := s.authorizeGlobal(ctx, args.Token, acl.Operator, acl.Write); err != nil {
		return false, err
	}
	if err := args.Config.Validate(); err != nil {
		return false, err
	}
	var ok bool
	if done, err := s.forward(ctx, "AutopilotSetConfiguration", nil, args, &ok); done {
		return ok, err
	}
	ok, err := s.apply(&structs.Command{Type: structs.AutopilotRequestType, Autopilot: args})
	if err == nil && ok {
		s.logger.Info("autopilot configuration changed", "cleanup_dead_servers", args.Config.CleanupDeadServers,
			"last_contact_threshold", args.Config.LastContactThreshold, "max_trailing_logs", args.Config.MaxTrailingLogs,
			"min_quorum", args.Config.MinQuorum, "server_stabilization_time", args.Config.ServerStabilizationTime)
	}
	return ok, err
}

// autopilotConfig is the configuration in effect: the stored one, else the
// one this server would store (see initAutopilot).
func (s *Server) autopilotConfig() structs.AutopilotConfig {
	if _, c, err := s.Store().AutopilotConfig(); err == nil && c != nil {
		return *c
	}
	return *s.cfg.Autopilot
}

// initAutopilot stores the agent's autopilot block as the cluster's
// configuration when none is stored yet, as a new leader does; one stored
// before (set through the API, or by an earlier leader) is kept. It
// reports whether a configuration is stored.
func (s *Server) initAutopilot() bool {
	if _, c, err := s.Store().AutopilotConfig(); err == nil && c != nil {
		return true
	}
	req := &structs.AutopilotSetRequest{Datacenter: s.cfg.Datacenter, Config: *s.cfg.Autopilot, CAS: true}
	req.Config.RaftIndex = structs.RaftIndex{}
	if _, err := s.apply(&structs.Command{Type: structs.AutopilotRequestType, Autopilot: req}); err != nil {
		s.logger.Error("storing the initial autopilot configuration failed; will retry", "error", err)
		return false
	}
	return true
}
