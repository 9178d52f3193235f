package state

import (
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

func (s *testStore) autopilot(c structs.AutopilotConfig, cas bool) bool {
	s.t.Helper()
	return s.apply(&structs.Command{Type: structs.AutopilotRequestType,
		Autopilot: &structs.AutopilotSetRequest{Config: c, CAS: cas}})
}

// The configuration is stored once, replaced by a set, replaced by a
// check-and-set only at its own index, and kept in a snapshot.
func TestAutopilotConfigStore(t *testing.T) {
	s := newTestStore(t)
	if _, c, err := s.AutopilotConfig(); c != nil || err != nil {
		t.Fatalf("empty store: %+v %v", c, err)
	}
	first := structs.DefaultAutopilotConfig()
	first.ModifyIndex = 5 // a CAS at an index when nothing is stored fails
	if s.autopilot(first, true) {
		t.Fatal("CAS at 5 over nothing applied")
	}
	first.ModifyIndex = 0
	if !s.autopilot(first, true) {
		t.Fatal("CAS at 0 over nothing did not apply")
	}
	if s.autopilot(first, true) {
		t.Fatal("CAS at 0 over a stored configuration applied")
	}
	_, got, _ := s.AutopilotConfig()
	created := got.CreateIndex
	if got.CreateIndex == 0 || got.ModifyIndex != got.CreateIndex || !got.CleanupDeadServers {
		t.Fatalf("stored %+v", got)
	}
	next := *got
	next.CleanupDeadServers, next.MinQuorum = false, 3
	if !s.autopilot(next, true) {
		t.Fatal("CAS at the stored index did not apply")
	}
	if s.autopilot(next, true) {
		t.Fatal("CAS at a former index applied")
	}
	next.LastContactThreshold = time.Second
	if !s.autopilot(next, false) {
		t.Fatal("set did not apply")
	}
	idx, got, _ := s.AutopilotConfig()
	if got.CleanupDeadServers || got.MinQuorum != 3 || got.LastContactThreshold != time.Second ||
		got.CreateIndex != created || got.ModifyIndex != s.idx || idx != s.idx {
		t.Fatalf("after updates: %+v at %d (store at %d, created %d)", got, idx, s.idx, created)
	}

	if _, rc, _ := roundTrip(t, s.Store).AutopilotConfig(); rc == nil || *rc != *got {
		t.Fatalf("restored %+v, want %+v", rc, got)
	}
}

// Settings beacon would store without acting on are refused by name.
func TestAutopilotConfigRefusals(t *testing.T) {
	s := newTestStore(t)
	for field, c := range map[string]structs.AutopilotConfig{
		"RedundancyZoneTag":       {RedundancyZoneTag: "zone"},
		"DisableUpgradeMigration": {DisableUpgradeMigration: true},
		"UpgradeVersionTag":       {UpgradeVersionTag: "v"},
		"LastContactThreshold":    {LastContactThreshold: -time.Second},
		"ServerStabilizationTime": {ServerStabilizationTime: -time.Second},
	} {
		s.idx++
		_, err := s.Apply(s.idx, &structs.Command{Type: structs.AutopilotRequestType,
			Autopilot: &structs.AutopilotSetRequest{Config: c}})
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, c, _ := s.AutopilotConfig(); c != nil {
		t.Fatalf("a refused configuration was stored: %+v", c)
	}
}
