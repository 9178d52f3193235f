package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/structs"
)

func member(name string) structs.Member {
	return structs.Member{Name: name, Status: structs.MemberFailed, Tags: map[string]string{"role": "consul", "id": name}}
}

func names(ms []structs.Member) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return strings.Join(out, ",")
}

// Dead servers leave raft only as the configuration allows.
func TestDeadToRemove(t *testing.T) {
	voters := func(ids ...string) []raft.Server {
		var out []raft.Server
		for _, id := range ids {
			out = append(out, raft.Server{ID: raft.ServerID(id), Suffrage: raft.Voter})
		}
		return out
	}
	five := voters("a", "b", "c", "d", "e")
	on := structs.DefaultAutopilotConfig()
	off := on
	off.CleanupDeadServers = false
	quorum4 := on
	quorum4.MinQuorum = 4
	withNonvoter := append(voters("a", "b", "c"), raft.Server{ID: "n", Suffrage: raft.Nonvoter})
	for _, tc := range []struct {
		name    string
		servers []raft.Server
		dead    []structs.Member
		conf    structs.AutopilotConfig
		want    string
		kept    string
	}{
		{"cleanup on", five, []structs.Member{member("d"), member("e")}, on, "d,e", ""},
		{"cleanup off", five, []structs.Member{member("d"), member("e")}, off, "", ""},
		{"half the voters dead", voters("a", "b", "c", "d"), []structs.Member{member("c"), member("d")}, on, "", "2 of the 4 voters are failed"},
		{"min quorum", five, []structs.Member{member("d"), member("e")}, quorum4, "d", "fewer than MinQuorum (4)"},
		{"non-voter", withNonvoter, []structs.Member{member("n")}, on, "n", ""},
		{"not in raft", five, []structs.Member{member("x")}, on, "", ""},
	} {
		got, kept := deadToRemove(tc.servers, tc.dead, tc.conf)
		if names(got) != tc.want || !strings.Contains(kept, tc.kept) || (tc.kept == "") != (kept == "") {
			t.Errorf("%s: removed %q (kept: %q), want %q (kept: %q)", tc.name, names(got), kept, tc.want, tc.kept)
		}
	}
}

// A server is healthy only within every limit of the configuration, and
// the reason it is not names the limit.
func TestServerHealthLimits(t *testing.T) {
	conf := structs.DefaultAutopilotConfig()
	leader := structs.ServerStats{LastTerm: 3, LastIndex: 1000}
	ok := structs.ServerHealth{SerfStatus: "alive", LastContact: 50 * time.Millisecond, LastTerm: 3, LastIndex: 900}
	for _, tc := range []struct {
		name string
		h    func(h *structs.ServerHealth)
		err  error
		want string
	}{
		{"healthy", func(*structs.ServerHealth) {}, nil, ""},
		{"failed", func(h *structs.ServerHealth) { h.SerfStatus = "failed" }, nil, "gossip reports it failed"},
		{"no answer", func(*structs.ServerHealth) {}, errors.New("connection refused"), "did not answer"},
		{"never heard", func(h *structs.ServerHealth) { h.LastContact = -1 }, nil, "not heard from the leader"},
		{"late contact", func(h *structs.ServerHealth) { h.LastContact = time.Second }, nil, "LastContactThreshold (200ms)"},
		{"old term", func(h *structs.ServerHealth) { h.LastTerm = 2 }, nil, "term 2"},
		{"trailing", func(h *structs.ServerHealth) { h.LastIndex = 700 }, nil, "300 entries behind the leader's, more than MaxTrailingLogs (250)"},
	} {
		h := ok
		tc.h(&h)
		got := unhealthy(&h, tc.err, leader, conf)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A dev server stores the configuration it was given, judges itself
// healthy, and refuses settings it would not act on.
func TestDevAutopilot(t *testing.T) {
	conf := structs.DefaultAutopilotConfig()
	conf.MinQuorum = 3
	s, err := New(Config{Datacenter: "dc1", NodeName: "srv", NodeID: "srv-id", Address: "127.0.0.1", RPCAddr: "127.0.0.1:8300",
		ServerPort: 8300, Autopilot: &conf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	ctx := context.Background()
	var got structs.AutopilotConfigReply
	if err := s.AutopilotGetConfiguration(ctx, &structs.DCSpecificRequest{}, &got); err != nil || got.Config.MinQuorum != 3 {
		t.Fatalf("configuration %+v: %v", got.Config, err)
	}
	var h structs.AutopilotHealthReply
	if err := s.AutopilotServerHealth(ctx, &structs.DCSpecificRequest{}, &h); err != nil {
		t.Fatal(err)
	}
	if !h.Healthy || len(h.Servers) != 1 || !h.Servers[0].Healthy || h.Servers[0].Name != "srv" || !h.Servers[0].Leader {
		t.Fatalf("health %+v", h)
	}
	bad := got.Config
	bad.RedundancyZoneTag = "az"
	if _, err := s.AutopilotSetConfiguration(ctx, &structs.AutopilotSetRequest{Config: bad}); err == nil ||
		!strings.Contains(err.Error(), "RedundancyZoneTag") {
		t.Fatalf("redundancy zone tag: %v", err)
	}
	bad.RedundancyZoneTag = ""
	if _, err := New(Config{Datacenter: "dc1", NodeName: "x", Autopilot: &structs.AutopilotConfig{UpgradeVersionTag: "v"}}); err == nil ||
		!strings.Contains(err.Error(), "UpgradeVersionTag") {
		t.Fatalf("a server with an upgrade version tag: %v", err)
	}
}
