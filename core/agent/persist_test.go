package agent

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

// savedServices reads the IDs of the services in the agent's state file.
func savedServices(t *testing.T, a *Agent) []string {
	t.Helper()
	b, err := os.ReadFile(a.statePath())
	if err != nil {
		t.Fatal(err)
	}
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range p.Services {
		ids = append(ids, s.Service.ID)
	}
	return ids
}

// The state file is written beside the push to the catalog, but once
// SyncChanges returns (as an HTTP registration does) it holds the change,
// and a run of changes ends with the last of them saved.
func TestRegistrationsAreSavedWhenSyncChangesReturns(t *testing.T) {
	dir := t.TempDir()
	a := newAgent(t, func(c *Config) { c.DataDir = dir })
	for i, id := range []string{"a", "b", "c"} {
		if err := a.AddService(&structs.ServiceDefinition{ID: id, Name: "web", Port: 80 + i}, SourceAPI); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RemoveService("b"); err != nil {
		t.Fatal(err)
	}
	if err := a.SyncChanges(); err != nil {
		t.Fatal(err)
	}
	if got := savedServices(t, a); len(got) != 2 || got[0] == "b" || got[1] == "b" {
		t.Errorf("saved %v, want a and c", got)
	}
	if err := a.RemoveService("a"); err != nil {
		t.Fatal(err)
	}
	a.Shutdown()
	if got := savedServices(t, a); len(got) != 1 || got[0] != "c" {
		t.Errorf("saved %v after shutdown, want c", got)
	}
}
