package state

import "sync"

// requestWindow is how many request IDs the store remembers, the latest
// ones: enough for the retries of a leader change at full write load.
const requestWindow = 65536

// requestLog remembers the outcomes of the latest requestWindow writes that
// carried a request ID. It sits beside memdb rather than in it: every
// forwarded write adds one entry and evicts one, and two radix-tree indexes
// made that cost more than the write itself. Only the apply path changes
// it, in log order, so every server holds the same entries.
type requestLog struct {
	mu   sync.Mutex
	pos  map[string]int   // ID → its slot in ring
	ring []appliedRequest // in apply order; once full, the oldest is at next
	next int
}

func newRequestLog() *requestLog {
	return &requestLog{pos: make(map[string]int)}
}

func (l *requestLog) get(id string) (appliedRequest, bool) {
	return l.getAfter(id, 0)
}

// getAfter looks id up as it would be found after pending more adds of new
// IDs, which evict the oldest entries once the window is full.
func (l *requestLog) getAfter(id string, pending int) (appliedRequest, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.pos[id]
	if !ok {
		return appliedRequest{}, false
	}
	evicted := len(l.ring) + pending - requestWindow
	if evicted > 0 {
		age := i // oldest first while the ring fills, then counted from next
		if len(l.ring) == requestWindow {
			age = (i - l.next + requestWindow) % requestWindow
		}
		if age < evicted {
			return appliedRequest{}, false
		}
	}
	return l.ring[i], true
}

// add remembers r, forgetting the oldest entry once the window is full.
func (l *requestLog) add(r appliedRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.pos[r.ID]; dup {
		return
	}
	if len(l.ring) < requestWindow {
		l.pos[r.ID] = len(l.ring)
		l.ring = append(l.ring, r)
		return
	}
	delete(l.pos, l.ring[l.next].ID)
	l.ring[l.next] = r
	l.pos[r.ID] = l.next
	l.next = (l.next + 1) % requestWindow
}

// entries lists what the log holds, oldest first, as of the call.
func (l *requestLog) entries() []appliedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]appliedRequest, 0, len(l.ring))
	out = append(out, l.ring[l.next:]...)
	return append(out, l.ring[:l.next]...)
}
