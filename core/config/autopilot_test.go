package config

import (
	"strings"
	"testing"
	"time"
)

// The autopilot block defaults to Consul's values, takes the keys the
// official test harness writes, and refuses by name those beacon would not
// act on.
func TestAutopilotBlock(t *testing.T) {
	c, err := Build(true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Autopilot.Config(); !got.CleanupDeadServers || got.LastContactThreshold != 200*time.Millisecond ||
		got.MaxTrailingLogs != 250 || got.ServerStabilizationTime != 10*time.Second {
		t.Fatalf("defaults: %+v", got)
	}
	c, err = Build(true, []Source{{Name: "a.hcl", Format: "hcl", Data: []byte(`autopilot { server_stabilization_time = "1s"  min_quorum = 3 }`)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Autopilot.Config(); got.ServerStabilizationTime != time.Second || got.MinQuorum != 3 || !got.CleanupDeadServers {
		t.Fatalf("from HCL: %+v", got)
	}
	for body, want := range map[string]string{
		`{"autopilot":{"redundancy_zone_tag":"az"}}`:            "autopilot.redundancy_zone_tag",
		`{"autopilot":{"disable_upgrade_migration":true}}`:      "autopilot.disable_upgrade_migration",
		`{"autopilot":{"upgrade_version_tag":"build"}}`:         "autopilot.upgrade_version_tag",
		`{"autopilot":{"last_contact_threshold":"-1s"}}`:        "autopilot.last_contact_threshold",
		`{"autopilot":{"server_stabilisation_time":"1s"}}`:      "server_stabilisation_time",
		`{"autopilot":{"min_quorum":-1}}`:                       "min_quorum",
		`{"autopilot":{"server_stabilization_time":"shortly"}}`: "shortly",
	} {
		_, err := Build(true, []Source{{Name: "c.json", Format: "json", Data: []byte(body)}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", body, err, want)
		}
	}
}
