package daemon

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

func apiClient(t *testing.T, d *Daemon) *api.Client {
	t.Helper()
	ac := api.DefaultNonPooledConfig()
	ac.Address = d.HTTPAddrs()[0].String()
	c, err := api.NewClient(ac)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// joinSecondServer starts a one-server cluster with the given autopilot
// block, joins a second server to it, and returns both once the second is
// in the raft configuration, with whether it was a voter when first seen
// there and when that was.
func joinSecondServer(t *testing.T, autopilot string) (leader, joined *Daemon, voterAtOnce bool, seen time.Time) {
	t.Helper()
	extra := `{"autopilot":` + autopilot + `}`
	leader = startServerWith(t, "lead", 1, extra)
	waitfor.Until(t, 20*time.Second, "a leader", leader.Server.IsLeader)
	joined = startServerWith(t, "second", 0, extra)
	host, port := leader.Gossip.LocalAddr()
	if _, err := joined.Join([]string{host + ":" + strconv.Itoa(port)}); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 20*time.Second, "the second server in raft", func() bool {
		var out structs.RaftConfigurationReply
		if leader.Server.RaftConfiguration(context.Background(), &structs.DCSpecificRequest{}, &out) != nil {
			return false
		}
		for _, s := range out.Servers {
			if s.ID == joined.node.ID {
				voterAtOnce, seen = s.Voter, time.Now()
				return true
			}
		}
		return false
	})
	return leader, joined, voterAtOnce, seen
}

func voter(t *testing.T, c *api.Client, id string) bool {
	t.Helper()
	st, err := c.Operator().AutopilotState(nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.Servers[id].Status == api.AutopilotServerVoter || st.Servers[id].Status == api.AutopilotServerLeader
}

// A new server receives the log as a non-voter and votes once it has been
// healthy for server_stabilization_time; with none it votes at once.
func TestNewServerVotesAfterStabilization(t *testing.T) {
	if testing.Short() {
		t.Skip("starts clusters")
	}
	t.Run("3s", func(t *testing.T) {
		leader, joined, atOnce, seen := joinSecondServer(t, `{"server_stabilization_time":"3s"}`)
		if atOnce {
			t.Fatal("the new server was a voter at once")
		}
		c := apiClient(t, leader)
		if st, _ := c.Operator().AutopilotState(nil); st == nil || st.Servers[joined.node.ID].Status != api.AutopilotServerNonVoter {
			t.Fatalf("autopilot state while stabilizing: %+v", st)
		}
		waitfor.Until(t, 30*time.Second, "the new server to vote", func() bool { return voter(t, c, joined.node.ID) })
		// Healthy from about when it was added, it waited the 3s.
		if waited := time.Since(seen); waited < 2*time.Second {
			t.Fatalf("promoted %v after it was first seen, before the stabilization time", waited)
		}
	})
	t.Run("0s", func(t *testing.T) {
		_, _, atOnce, _ := joinSecondServer(t, `{"server_stabilization_time":"0s"}`)
		if !atOnce {
			t.Fatal("with no stabilization time the new server did not vote at once")
		}
	})
}

// The thresholds of the autopilot configuration decide which servers the
// health endpoint calls healthy.
func TestHealthFollowsTheConfiguration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	leader, joined, _, _ := joinSecondServer(t, `{"server_stabilization_time":"0s","last_contact_threshold":"10s"}`)
	c := apiClient(t, leader)
	health := func() *api.OperatorHealthReply {
		h, err := c.Operator().AutopilotServerHealth(nil)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	follower := func(h *api.OperatorHealthReply) api.ServerHealth {
		for _, s := range h.Servers {
			if s.ID == joined.node.ID {
				return s
			}
		}
		t.Fatalf("no %s in %+v", joined.node.ID, h)
		return api.ServerHealth{}
	}
	waitfor.Until(t, 20*time.Second, "both servers healthy", func() bool { return health().Healthy })
	if h := health(); h.FailureTolerance != 0 || len(h.Servers) != 2 || follower(h).Name != "second" || follower(h).SerfStatus != "alive" {
		t.Fatalf("healthy cluster: %+v", h)
	}
	// The follower hands the questions to the leader.
	st, err := apiClient(t, joined).Operator().AutopilotState(nil)
	if err != nil || st.Leader != leader.node.ID || len(st.Voters) != 2 || !st.Servers[joined.node.ID].Healthy {
		t.Fatalf("state through the follower: %+v %v", st, err)
	}

	conf, err := c.Operator().AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	conf.LastContactThreshold = api.NewReadableDuration(time.Nanosecond)
	if err := apiClient(t, joined).Operator().AutopilotSetConfiguration(conf, nil); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 20*time.Second, "the follower unhealthy", func() bool {
		h := health()
		return !h.Healthy && !follower(h).Healthy
	})
	var out structs.AutopilotHealthReply
	if err := leader.Server.AutopilotServerHealth(context.Background(), &structs.DCSpecificRequest{}, &out); err != nil {
		t.Fatal(err)
	}
	for _, s := range out.Servers {
		if s.ID == joined.node.ID && !strings.Contains(s.Unhealthy, "LastContactThreshold (1ns)") {
			t.Fatalf("unhealthy because %q", s.Unhealthy)
		}
	}
	conf.LastContactThreshold = api.NewReadableDuration(10 * time.Second)
	if err := c.Operator().AutopilotSetConfiguration(conf, nil); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 20*time.Second, "the follower healthy again", func() bool { return health().Healthy })
}
