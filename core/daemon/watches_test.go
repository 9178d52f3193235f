package daemon

import (
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/config"
)

// An agent started without a watch runner does not leave its watches
// unrun: it refuses to start.
func TestWatchesNeedARunner(t *testing.T) {
	cfg, err := config.Build(true, []config.Source{{Name: "t", Format: "json", Data: []byte(
		`{"node_name":"w","ports":{"http":0,"dns":-1},"log_level":"error","watches":[{"type":"nodes","args":["true"]}]}`)}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Start(cfg, Options{})
	if err == nil {
		d.Shutdown()
		t.Fatal("an agent with watches and no runner started")
	}
	if !strings.Contains(err.Error(), "without a runner for its watches") {
		t.Fatalf("error: %v", err)
	}
}
