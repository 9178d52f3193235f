package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

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
	// send applies a group, sets every result and says how many log
	// entries (or calls) that took.
	send func(group []*queuedWrite) int

	mu    sync.Mutex
	busy  bool // an entry is under way
	queue []*queuedWrite

	groups, writes atomic.Uint64 // sent so far
}

// queuedWrite is one caller's KV writes (one, or a group a follower sent
// on) and, once sent, their outcomes.
type queuedWrite struct {
	reqs []*structs.KVSRequest
	res  []applyResult
	done chan struct{} // closed once res is set, or lead
	lead []*queuedWrite
	one  [1]*structs.KVSRequest // reqs of writeOne
}

// writeOne sends one write, with whatever else is waiting.
func (g *groupCommit) writeOne(req *structs.KVSRequest) applyResult {
	w := &queuedWrite{}
	w.one[0] = req
	w.reqs = w.one[:]
	return g.submit(w)[0]
}

// write sends reqs, with whatever else is waiting, and returns their
// outcomes in order.
func (g *groupCommit) write(reqs []*structs.KVSRequest) []applyResult {
	return g.submit(&queuedWrite{reqs: reqs})
}

// submit sends one caller's writes, alone or with whatever else is waiting,
// and returns their outcomes.
func (g *groupCommit) submit(w *queuedWrite) []applyResult {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		g.run(w, []*queuedWrite{w})
		return w.res
	}
	w.done = make(chan struct{})
	g.queue = append(g.queue, w)
	g.mu.Unlock()
	<-w.done
	if w.lead != nil {
		g.run(w, w.lead)
	}
	return w.res
}

// run sends group, whose write self belongs to the calling goroutine, then
// hands what queued meanwhile to the first of those writers (or notes that
// nothing is under way), and wakes the group's other writers. If sending
// panics, the group's writers get an error and the queue still moves on.
func (g *groupCommit) run(self *queuedWrite, group []*queuedWrite) {
	sent := 1
	defer func() {
		for _, w := range group {
			if w.res == nil {
				w.res = repeatResult(len(w.reqs), applyResult{err: errSendPanicked})
			}
		}
		g.groups.Add(uint64(sent))
		writes := 0
		for _, w := range group {
			writes += len(w.reqs)
		}
		g.writes.Add(uint64(writes))
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
	}()
	sent = g.send(group)
}

// errSendPanicked is the outcome of writes whose group hit an internal
// error on its way out.
var errSendPanicked = errors.New("internal error while sending the write; it may not have applied")

// take removes the next group from the front of the queue.
func (g *groupCommit) take() []*queuedWrite {
	n, writes, size := 0, 0, 0
	for n < len(g.queue) {
		w := g.queue[n]
		writes += len(w.reqs)
		for _, r := range w.reqs {
			size += r.Size()
		}
		if n > 0 && (writes > groupMaxWrites || size > groupMaxBytes) {
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

// flatten lists a group's writes in order.
func flatten(group []*queuedWrite) []*structs.KVSRequest {
	if len(group) == 1 {
		return group[0].reqs
	}
	var all []*structs.KVSRequest
	for _, w := range group {
		all = append(all, w.reqs...)
	}
	return all
}

// giveResults gives each caller of a group its writes' outcomes from res,
// which holds one per write in flatten's order.
func giveResults(group []*queuedWrite, res []applyResult) {
	for _, w := range group {
		w.res, res = res[:len(w.reqs):len(w.reqs)], res[len(w.reqs):]
	}
}

// repeatResult is n copies of one outcome.
func repeatResult(n int, r applyResult) []applyResult {
	out := make([]applyResult, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// GroupStats counts KV writes sent in groups: into the log as leader
// (Entries log entries carrying Writes writes) and on to the leader as
// follower (Calls calls carrying Forwarded writes).
type GroupStats struct {
	Entries, Writes, Calls, Forwarded uint64
}

// KVGroupStats counts the KV writes this server sent in groups.
func (s *Server) KVGroupStats() GroupStats {
	return GroupStats{
		Entries: s.kvGroups.groups.Load(), Writes: s.kvGroups.writes.Load(),
		Calls: s.kvForward.groups.Load(), Forwarded: s.kvForward.writes.Load(),
	}
}

// GossipTagKVGroups marks, in a server's gossip tags, that it applies log
// entries that group KV writes and serves KVApplyGroup. Writes are grouped
// only while every server in the raft configuration says so, and the
// leader adds no server to the configuration that does not: a server of
// an older build would skip the entries it cannot read.
const GossipTagKVGroups = "kv_groups"

// groupsRecheck is how long groupsAllowed's answer holds.
const groupsRecheck = time.Second

// groupsAllowed reports whether KV writes may be grouped; the answer is
// worked out again at most every groupsRecheck.
func (s *Server) groupsAllowed() bool {
	if c := s.groupsCheck.Load(); c != nil && time.Since(c.at) < groupsRecheck {
		return c.ok
	}
	s.groupsMu.Lock()
	defer s.groupsMu.Unlock()
	if c := s.groupsCheck.Load(); c != nil && time.Since(c.at) < groupsRecheck {
		return c.ok
	}
	c := &groupsAnswer{at: time.Now(), ok: s.everyServerTagged(GossipTagKVGroups)}
	s.groupsCheck.Store(c)
	return c.ok
}

// groupsAnswer is groupsAllowed's answer and when it was worked out.
type groupsAnswer struct {
	at time.Time
	ok bool
}

// everyServerTagged reports whether every server in the raft
// configuration says, by the gossip tag set to "1", that it reads a kind
// of log entry.
func (s *Server) everyServerTagged(tag string) bool {
	if s.cfg.Members == nil {
		return true // no gossip: a cluster of one build
	}
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	tagged := map[raft.Server]bool{}
	for _, m := range s.cfg.Members() {
		if serverTagged(&m, tag) {
			tagged[raft.Server{ID: raft.ServerID(m.ID()), Address: raft.ServerAddress(m.RPCAddr())}] = true
		}
	}
	for _, srv := range f.Configuration().Servers {
		if !tagged[raft.Server{ID: srv.ID, Address: srv.Address}] {
			return false
		}
	}
	return true
}

// readsGroups reports whether a member is a server that reads grouped KV
// writes.
func readsGroups(m *structs.Member) bool { return serverTagged(m, GossipTagKVGroups) }

func serverTagged(m *structs.Member, tag string) bool {
	return m.IsServer() && m.Tags[tag] == "1"
}
