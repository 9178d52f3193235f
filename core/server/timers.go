package server

import (
	"sync"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// sessionTimers destroys sessions whose TTL ran out without a renew. As in
// Consul, a session lives TTL x 2 after its last renew before it is reaped.
type sessionTimers struct {
	s      *Server
	mu     sync.Mutex
	timers map[string]*time.Timer
}

func newSessionTimers(s *Server) *sessionTimers {
	return &sessionTimers{s: s, timers: make(map[string]*time.Timer)}
}

// reset (re)starts the timer of a session.
func (t *sessionTimers) reset(id string, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if tm, ok := t.timers[id]; ok {
		tm.Stop()
	}
	t.timers[id] = time.AfterFunc(ttl*structs.SessionTTLMultiplier, func() { t.expire(id) })
}

func (t *sessionTimers) stop(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tm, ok := t.timers[id]; ok {
		tm.Stop()
		delete(t.timers, id)
	}
}

func (t *sessionTimers) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, tm := range t.timers {
		tm.Stop()
		delete(t.timers, id)
	}
}

func (t *sessionTimers) expire(id string) {
	t.mu.Lock()
	delete(t.timers, id)
	t.mu.Unlock()
	select {
	case <-t.s.shutdownCh:
		return
	default:
	}
	_, err := t.s.apply(&structs.Command{Type: structs.SessionRequestType, Session: &structs.SessionRequest{
		Op: structs.SessionDestroy, Session: structs.Session{ID: id},
	}})
	if err != nil {
		t.s.logger.Error("destroy expired session failed", "session", id, "error", err)
		return
	}
	t.s.logger.Debug("session TTL expired", "session", id)
}

// tombstoneGC remembers, per time bucket, the highest KV write index, so the
// leader can reap delete markers older than the TTL by index.
type tombstoneGC struct {
	mu          sync.Mutex
	ttl         time.Duration
	granularity time.Duration
	buckets     []tombstoneBucket
	now         func() time.Time
}

type tombstoneBucket struct {
	at  time.Time
	idx uint64
}

func newTombstoneGC(ttl time.Duration) *tombstoneGC {
	g := ttl / 15
	if g < time.Second {
		g = time.Second
	}
	return &tombstoneGC{ttl: ttl, granularity: g, now: time.Now}
}

// hint records that a KV write happened at idx.
func (g *tombstoneGC) hint(idx uint64) {
	at := g.now().Truncate(g.granularity)
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := len(g.buckets); n > 0 && g.buckets[n-1].at.Equal(at) {
		g.buckets[n-1].idx = idx
		return
	}
	g.buckets = append(g.buckets, tombstoneBucket{at: at, idx: idx})
}

// due returns the highest index whose bucket is older than the TTL (0 if
// none) and forgets those buckets.
func (g *tombstoneGC) due(now time.Time) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var idx uint64
	n := 0
	for _, b := range g.buckets {
		if b.at.Add(g.ttl + g.granularity).After(now) {
			break
		}
		idx = b.idx
		n++
	}
	g.buckets = g.buckets[n:]
	return idx
}
