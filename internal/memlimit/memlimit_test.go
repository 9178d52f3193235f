package memlimit

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// The soft limit is set below the memory there is, and left alone when
// GOMEMLIMIT is set.
func TestSetDefault(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	t.Setenv("GOMEMLIMIT", "")
	if got := SetDefault(); got != 0 {
		t.Fatalf("with GOMEMLIMIT set: limit %d", got)
	}
	if debug.SetMemoryLimit(-1) != old {
		t.Fatal("the limit changed though GOMEMLIMIT is set")
	}
}

func TestSetDefaultWithoutGOMEMLIMIT(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	if v, set := os.LookupEnv("GOMEMLIMIT"); set {
		os.Unsetenv("GOMEMLIMIT")
		t.Cleanup(func() { os.Setenv("GOMEMLIMIT", v) })
	}
	avail := available()
	if avail <= 0 {
		t.Skip("the memory available is unknown here")
	}
	got := SetDefault()
	if got <= 0 || got >= avail || debug.SetMemoryLimit(-1) != got {
		t.Fatalf("limit %d for %d available; runtime's %d", got, avail, debug.SetMemoryLimit(-1))
	}
	t.Logf("%d MiB available, soft limit %d MiB", avail>>20, got>>20)
}

// shortLived holds the test's short-lived allocations.
var shortLived [][]byte

func released() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A burst that ended is given back to the system soon after, without
// waiting for the runtime's next collection.
func TestFreedGivesMemoryBack(t *testing.T) {
	shortLived = make([][]byte, 64)
	for i := range shortLived {
		shortLived[i] = make([]byte, 1<<20)
		shortLived[i][0] = 1
	}
	before := released()
	shortLived = nil
	Freed(64 << 20)
	waitfor.Until(t, 30*time.Second, "the shortLived's memory to go back", func() bool {
		return released() >= before+48<<20
	})
}
