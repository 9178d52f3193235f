package server

import (
	"sync"
	"sync/atomic"

	"github.com/beacon-sd/beacon/core/structs"
)

// Group commit: a KV write that arrives while an earlier one is on its way
// through the log waits for it, then goes with every other write that
// queued meanwhile as one log entry, applied in one transaction at one
// index (as Consul's /v1/txn applies its operations). A write that finds no
// entry under way goes at once, so a lone client waits no longer than
// before; under load the servers store, replicate, fsync and apply one
// entry for many writes. Letting a second entry start before the first
// finished was measured too: the groups shrink, and the CPU each write
// costs grows more than the overlap saves.
const (
	groupMaxWrites = 512     // writes in one entry
	groupMaxBytes  = 1 << 20 // their keys and values, about
)

// groupCommit queues KV writes and sends them as groups.
type groupCommit struct {
	send func(group []*queuedWrite) // applies a group and sets every result

	mu    sync.Mutex
	busy  bool // an entry is under way
	queue []*queuedWrite

	entries, writes atomic.Uint64 // sent so far
}

// queuedWrite is one KV write and, once sent, its outcome.
type queuedWrite struct {
	req  *structs.KVSRequest
	done chan struct{} // closed when the write applied or when lead is set
	lead []*queuedWrite
	ok   bool
	err  error
}

// write applies req through the log, alone or with others.
func (g *groupCommit) write(req *structs.KVSRequest) (bool, error) {
	w := &queuedWrite{req: req}
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		g.run(w, []*queuedWrite{w})
		return w.ok, w.err
	}
	w.done = make(chan struct{})
	g.queue = append(g.queue, w)
	g.mu.Unlock()
	<-w.done
	if w.lead != nil {
		g.run(w, w.lead)
	}
	return w.ok, w.err
}

// run sends group, whose write self belongs to the calling goroutine, then
// hands what queued meanwhile to the first of those writers (or notes that
// nothing is under way), and wakes the group's other writers.
func (g *groupCommit) run(self *queuedWrite, group []*queuedWrite) {
	g.send(group)
	g.entries.Add(1)
	g.writes.Add(uint64(len(group)))
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.busy = false
	} else {
		next := g.take()
		next[0].lead = next
		close(next[0].done)
	}
	g.mu.Unlock()
	for _, w := range group {
		if w != self {
			close(w.done)
		}
	}
}

// take removes the next group from the front of the queue.
func (g *groupCommit) take() []*queuedWrite {
	n, size := 0, 0
	for n < len(g.queue) && n < groupMaxWrites {
		r := g.queue[n].req
		size += len(r.DirEnt.Key) + len(r.DirEnt.Value)
		if n > 0 && size > groupMaxBytes {
			break
		}
		n++
	}
	next := g.queue[:n:n]
	g.queue = g.queue[n:]
	if len(g.queue) == 0 {
		g.queue = nil
	}
	return next
}

// KVGroupStats counts the log entries of KV writes this server sent as
// leader, and the writes in them.
func (s *Server) KVGroupStats() (entries, writes uint64) {
	return s.kvGroups.entries.Load(), s.kvGroups.writes.Load()
}
