package structs

import "time"

// AutopilotConfig is how the leader manages the servers: when a server
// counts as healthy, how long a new one must stay healthy before it votes,
// and whether failed ones are removed from raft. The servers keep it in
// the replicated log; the agent's autopilot block gives its first value.
type AutopilotConfig struct {
	// CleanupDeadServers lets the leader remove failed servers from raft.
	CleanupDeadServers bool
	// LastContactThreshold is how long a server may go without hearing
	// from the leader and still count as healthy.
	LastContactThreshold time.Duration
	// MaxTrailingLogs is how many log entries a healthy server may be
	// behind the leader.
	MaxTrailingLogs uint64
	// MinQuorum is the fewest voters dead-server cleanup leaves.
	MinQuorum uint
	// ServerStabilizationTime is how long a new server must be healthy
	// before it is made a voter.
	ServerStabilizationTime time.Duration

	// The settings of Consul Enterprise's redundancy zones and upgrade
	// migrations, which beacon does not have: only their defaults are
	// accepted (see Validate).
	RedundancyZoneTag       string
	DisableUpgradeMigration bool
	UpgradeVersionTag       string

	RaftIndex
}

// DefaultAutopilotConfig is the configuration a cluster starts with when
// the agent's autopilot block sets nothing.
func DefaultAutopilotConfig() AutopilotConfig {
	return AutopilotConfig{
		CleanupDeadServers:      true,
		LastContactThreshold:    200 * time.Millisecond,
		MaxTrailingLogs:         250,
		ServerStabilizationTime: 10 * time.Second,
	}
}

// Validate refuses what beacon could store but would not act on: negative
// durations, and the Enterprise-only settings other than their defaults.
func (c *AutopilotConfig) Validate() error {
	switch {
	case c.LastContactThreshold < 0:
		return BadInput("LastContactThreshold %s: must not be negative", c.LastContactThreshold)
	case c.ServerStabilizationTime < 0:
		return BadInput("ServerStabilizationTime %s: must not be negative", c.ServerStabilizationTime)
	case c.RedundancyZoneTag != "":
		return BadInput("RedundancyZoneTag %q: redundancy zones are a Consul Enterprise feature that beacon does not have; leave it empty", c.RedundancyZoneTag)
	case c.DisableUpgradeMigration:
		return BadInput("DisableUpgradeMigration: upgrade migrations are a Consul Enterprise feature that beacon does not have, so there is nothing to disable; leave it false")
	case c.UpgradeVersionTag != "":
		return BadInput("UpgradeVersionTag %q: upgrade migrations are a Consul Enterprise feature that beacon does not have; leave it empty", c.UpgradeVersionTag)
	}
	return nil
}

// AutopilotSetRequest replaces the autopilot configuration.
type AutopilotSetRequest struct {
	Datacenter string
	Config     AutopilotConfig
	// CAS applies Config only if the stored configuration's ModifyIndex
	// is Config.ModifyIndex; an index of 0 applies only when none is
	// stored yet.
	CAS bool
	WriteRequest
}

// AutopilotConfigReply is the stored autopilot configuration.
type AutopilotConfigReply struct {
	Config AutopilotConfig
	QueryMeta
}

// Meta returns the reply's query metadata.
func (r *AutopilotConfigReply) Meta() *QueryMeta { return &r.QueryMeta }

// ServerStats are one server's raft figures, which the leader gathers to
// judge the servers' health.
type ServerStats struct {
	// LastContact is how long ago the server last heard from a leader;
	// 0 on the leader itself.
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
}

// ServerHealth is one server as autopilot sees it.
type ServerHealth struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string // alive, leaving, left, failed, or none when gossip does not know it
	Version     string
	Leader      bool
	Voter       bool
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
	// Healthy: alive in gossip, answering, in the leader's term, close
	// enough to the leader's log and recently in contact with it.
	Healthy bool
	// StableSince is when Healthy last changed.
	StableSince time.Time
	// Unhealthy says why a server is not healthy; "" when it is.
	Unhealthy string `json:",omitempty"`
	// Meta is the server's node meta in the catalog.
	Meta map[string]string `json:",omitempty"`
}

// AutopilotHealthReply is the leader's view of every raft server.
type AutopilotHealthReply struct {
	Healthy bool
	// FailureTolerance is how many voters may fail with quorum kept, of
	// the healthy ones; OptimisticFailureTolerance counts every voter.
	FailureTolerance           int
	OptimisticFailureTolerance int
	Servers                    []ServerHealth
	QueryMeta
}

// Meta returns the reply's query metadata.
func (r *AutopilotHealthReply) Meta() *QueryMeta { return &r.QueryMeta }
