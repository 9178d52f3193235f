package http

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/decode"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// autopilotConfiguration reads (GET) or replaces (PUT, with ?cas=<index>
// a check-and-set) the cluster's autopilot configuration.
func (s *Server) autopilotConfiguration(w *httpserver.Response, r *request) (interface{}, error) {
	if r.Method == put {
		return s.autopilotSet(r)
	}
	var args structs.DCSpecificRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.AutopilotConfigReply
	if err := s.backend.AutopilotGetConfiguration(r.Context(), &args, &out); err != nil {
		return nil, err
	}
	c := out.Config
	return &api.AutopilotConfiguration{
		CleanupDeadServers:      c.CleanupDeadServers,
		LastContactThreshold:    api.NewReadableDuration(c.LastContactThreshold),
		MaxTrailingLogs:         c.MaxTrailingLogs,
		MinQuorum:               c.MinQuorum,
		ServerStabilizationTime: api.NewReadableDuration(c.ServerStabilizationTime),
		RedundancyZoneTag:       c.RedundancyZoneTag,
		DisableUpgradeMigration: c.DisableUpgradeMigration,
		UpgradeVersionTag:       c.UpgradeVersionTag,
		CreateIndex:             c.CreateIndex,
		ModifyIndex:             c.ModifyIndex,
	}, nil
}

// autopilotSet replaces the configuration with the body, whole: a field
// left out is set to its zero value, as Consul does. It answers true, or
// with ?cas whether the configuration was still at that index.
func (s *Server) autopilotSet(r *request) (interface{}, error) {
	args := structs.AutopilotSetRequest{Datacenter: r.query.Get("dc")}
	args.Token = token(r)
	if v, ok := r.query["cas"]; ok {
		idx, err := strconv.ParseUint(v[0], 10, 64)
		if err != nil {
			return nil, badRequest("Invalid cas: %q is not a non-negative integer", v[0])
		}
		args.CAS, args.Config.ModifyIndex = true, idx
	}
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return nil, badRequest("Missing the autopilot configuration in the request body")
	}
	if len(r.Body) > maxJSONBody {
		return nil, &codedError{http.StatusRequestEntityTooLarge, "Request body too large"}
	}
	var in api.AutopilotConfiguration
	// Strict: a misspelt setting is refused rather than left at zero.
	if err := decode.JSON(r.Body, &in, true); err != nil {
		return nil, badRequest("Error parsing autopilot config: %v", err)
	}
	c := &args.Config
	c.CleanupDeadServers = in.CleanupDeadServers
	c.LastContactThreshold = in.LastContactThreshold.Duration()
	c.MaxTrailingLogs = in.MaxTrailingLogs
	c.MinQuorum = in.MinQuorum
	c.ServerStabilizationTime = in.ServerStabilizationTime.Duration()
	c.RedundancyZoneTag = in.RedundancyZoneTag
	c.DisableUpgradeMigration = in.DisableUpgradeMigration
	c.UpgradeVersionTag = in.UpgradeVersionTag
	if err := c.Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	ok, err := s.backend.AutopilotSetConfiguration(r.Context(), &args)
	if err != nil {
		return nil, err
	}
	return ok || !args.CAS, nil
}

// autopilotHealth is the leader's view of every server's health; 429 when
// any is unhealthy, as Consul answers.
func (s *Server) autopilotHealth(w *httpserver.Response, r *request) (interface{}, error) {
	h, err := s.serverHealth(r)
	if err != nil {
		return nil, err
	}
	out := api.OperatorHealthReply{Healthy: h.Healthy, FailureTolerance: h.FailureTolerance, Servers: []api.ServerHealth{}}
	for _, srv := range h.Servers {
		out.Servers = append(out.Servers, api.ServerHealth{
			ID: srv.ID, Name: srv.Name, Address: srv.Address, SerfStatus: srv.SerfStatus, Version: srv.Version,
			Leader: srv.Leader, LastContact: api.NewReadableDuration(srv.LastContact), LastTerm: srv.LastTerm,
			LastIndex: srv.LastIndex, Healthy: srv.Healthy, Voter: srv.Voter, StableSince: srv.StableSince,
		})
	}
	if !out.Healthy {
		w.WriteHeader(http.StatusTooManyRequests)
	}
	return &out, nil
}

// autopilotState is the same view in the shape of autopilot's state: the
// servers by raft ID, the leader and the voters. beacon has no redundancy
// zones, read replicas or upgrade migrations, so those parts are absent.
func (s *Server) autopilotState(w *httpserver.Response, r *request) (interface{}, error) {
	h, err := s.serverHealth(r)
	if err != nil {
		return nil, err
	}
	out := api.AutopilotState{Healthy: h.Healthy, FailureTolerance: h.FailureTolerance,
		OptimisticFailureTolerance: h.OptimisticFailureTolerance,
		Servers:                    map[string]api.AutopilotServer{}, Voters: []string{}}
	for _, srv := range h.Servers {
		status := api.AutopilotServerNonVoter
		switch {
		case srv.Leader:
			status = api.AutopilotServerLeader
			out.Leader = srv.ID
		case srv.Voter:
			status = api.AutopilotServerVoter
		}
		if srv.Voter {
			out.Voters = append(out.Voters, srv.ID)
		}
		meta := srv.Meta
		if meta == nil {
			meta = map[string]string{}
		}
		out.Servers[srv.ID] = api.AutopilotServer{
			ID: srv.ID, Name: srv.Name, Address: srv.Address, NodeStatus: srv.SerfStatus, Version: srv.Version,
			LastContact: api.NewReadableDuration(srv.LastContact), LastTerm: srv.LastTerm, LastIndex: srv.LastIndex,
			Healthy: srv.Healthy, StableSince: srv.StableSince, Status: status, Meta: meta,
			NodeType: api.AutopilotTypeVoter,
		}
	}
	return &out, nil
}

// serverHealth asks the leader for its judgement of the servers.
func (s *Server) serverHealth(r *request) (*structs.AutopilotHealthReply, error) {
	var args structs.DCSpecificRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.AutopilotHealthReply
	if err := s.backend.AutopilotServerHealth(r.Context(), &args, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// usageBody is /v1/operator/usage's answer: the counts by datacenter, and
// the read's metadata, which Consul repeats in the body.
type usageBody struct {
	Usage       map[string]structs.ServiceUsage
	Index       uint64
	LastContact int64
	KnownLeader bool
}

// operatorUsage counts the datacenter's nodes, services and instances.
// With ?global it would count every known datacenter: this one is the
// only one.
func (s *Server) operatorUsage(w *httpserver.Response, r *request) (interface{}, error) {
	var args structs.DCSpecificRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.UsageReply
	if err := read(s, w, r, &args, &out, s.backend.OperatorUsage); err != nil {
		return nil, err
	}
	return &usageBody{Usage: out.Usage, Index: out.Index, LastContact: out.LastContact.Milliseconds(),
		KnownLeader: out.KnownLeader}, nil
}
