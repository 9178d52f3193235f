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
	byID map[string]appliedRequest
	ring []string // IDs in apply order, oldest at next once full
	next int
}

func newRequestLog() *requestLog {
	return &requestLog{byID: make(map[string]appliedRequest)}
}

func (l *requestLog) get(id string) (appliedRequest, bool) {
	l.mu.Lock()
	r, ok := l.byID[id]
	l.mu.Unlock()
	return r, ok
}

// add remembers r, forgetting the oldest entry once the window is full.
func (l *requestLog) add(r appliedRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.byID[r.ID]; dup {
		return
	}
	if len(l.ring) < requestWindow {
		l.ring = append(l.ring, r.ID)
	} else {
		delete(l.byID, l.ring[l.next])
		l.ring[l.next] = r.ID
		l.next = (l.next + 1) % requestWindow
	}
	l.byID[r.ID] = r
}

// entries lists what the log holds, oldest first, as of the call.
func (l *requestLog) entries() []appliedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]appliedRequest, 0, len(l.ring))
	for i := range l.ring {
		out = append(out, l.byID[l.ring[(l.next+i)%len(l.ring)]])
	}
	return out
}
