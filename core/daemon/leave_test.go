package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// A refusal of the request to take a node out of the catalog is final:
// leaveCatalog returns it at once, naming it, rather than retrying until
// its time runs out and then reporting that no server confirmed. The
// servers refuse a server's own node (a server leaves through gossip).
func TestLeaveCatalogStopsAtARefusal(t *testing.T) {
	d, c := startServer(t, t.TempDir(), "")
	waitfor.Until(t, 30*time.Second, "a leader", func() bool {
		l, err := c.Status().Leader()
		return err == nil && l != ""
	})
	start := time.Now()
	err := d.leaveCatalog()
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "the servers refused") || !strings.Contains(err.Error(), `"persist-node" is a server`) {
		t.Fatalf("leaveCatalog for a server's node: %v", err)
	}
	if took > leaveTimeout/2 {
		t.Fatalf("leaveCatalog took %v to report a refusal, want it at once", took)
	}
	t.Logf("refused after %v: %v", took.Round(time.Millisecond), err)
}
