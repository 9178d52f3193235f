// Package memlimit keeps an agent's memory close to what it uses. Unless
// GOMEMLIMIT says otherwise, the Go runtime gets a soft limit of 90% of the
// memory the process may have (its cgroup's limit, else the machine's), so
// that it collects harder rather than grow past what there is. And after a
// burst of short-lived allocations (request bodies, a snapshot restore) the
// memory the burst left idle goes back to the system at once, instead of
// the process staying at its peak until the runtime returns it on its own,
// minutes later.
package memlimit

import (
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// SetDefault sets the soft limit unless GOMEMLIMIT is set, and returns it;
// 0 when it set none.
func SetDefault() int64 {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return 0
	}
	avail := available()
	if avail <= 0 {
		return 0
	}
	limit := avail / 10 * 9
	debug.SetMemoryLimit(limit)
	return limit
}

// What counts as a burst, how long it must have been over before its
// memory is returned, and how often that may happen at most: returning
// memory costs a full collection.
const (
	burst = 32 << 20
	quiet = time.Second
	every = 10 * time.Second
)

var (
	ended atomic.Int64 // bytes of bursts ended since memory was last returned

	mu       sync.Mutex
	timer    *time.Timer
	returned time.Time
)

// Freed notes that n bytes of short-lived allocations are done with. Once
// at least 32 MiB are, and a second has passed without more, the idle
// memory is returned to the system, at most every 10 seconds.
func Freed(n int64) {
	if ended.Add(n) < burst {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if timer == nil {
		timer = time.AfterFunc(quiet, giveBack)
	} else {
		timer.Reset(quiet)
	}
}

func giveBack() {
	mu.Lock()
	if wait := every - time.Since(returned); wait > 0 {
		timer.Reset(wait)
		mu.Unlock()
		return
	}
	returned = time.Now()
	ended.Store(0)
	mu.Unlock()
	debug.FreeOSMemory()
}
