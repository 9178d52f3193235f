package server

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// leaseTime is how long a confirmed leadership serves default reads. A
// quorum that answered at time T will not elect anyone else before its
// followers' heartbeat timeout (1 s at the default multiplier) has run out
// after T, so half of that is safe.
const leaseTime = 500 * time.Millisecond

// lease tracks the last time a quorum confirmed this leader, so a leader
// that was frozen or cut off does not answer default reads from a state a
// newer leader may have moved past. Confirmations are shared: one quorum
// round serves every read that waits on it, as long as its lease still
// holds when it ends. A round only speaks for the moment it began: a read
// that arrived after that moment and finds the lease run out by the end
// (the leader was frozen with the round in flight) needs a round of its
// own.
type lease struct {
	rounds atomic.Uint64 // quorum rounds run for leader reads
	joined atomic.Uint64 // reads that waited on a round another began
	mu     sync.Mutex
	until  time.Time
	// confirmed is when the latest confirmation began: a read that
	// arrived no later may be answered, however long the round took.
	confirmed time.Time
	pending   chan struct{}
	err       error
	// now is the clock; nil is time.Now.
	now func() time.Time
}

func (l *lease) clock() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
}

// leaderReads confirms this server may answer a leader read: within the
// lease for default reads, with a fresh quorum round for consistent ones.
func (s *Server) leaderReads(consistent bool) error {
	err := s.lease.confirm(consistent, func() error { return s.raft.VerifyLeader().Error() })
	if err != nil {
		return fmt.Errorf("%w: %v", structs.ErrNoLeader, err)
	}
	return nil
}

// confirm returns once a read that arrived now may be answered: a default
// read within the lease (waiting for a round under way if there is one),
// a consistent one after a quorum round of its own (verify) began after
// it arrived.
func (l *lease) confirm(consistent bool, verify func() error) error {
	arrived := l.clock()
	for {
		l.mu.Lock()
		if !consistent && (l.clock().Before(l.until) || !l.confirmed.Before(arrived)) {
			l.mu.Unlock()
			return nil
		}
		if l.pending == nil || consistent {
			break // l.mu held
		}
		ch := l.pending
		l.mu.Unlock()
		l.joined.Add(1)
		<-ch
		l.mu.Lock()
		err := l.err
		l.mu.Unlock()
		if err != nil {
			return err
		}
		// The round serves this read if it began after the read arrived,
		// or its lease still holds now: the loop checks.
	}
	ch := make(chan struct{})
	if !consistent {
		l.pending = ch
	}
	l.mu.Unlock()

	start := l.clock()
	l.rounds.Add(1)
	err := verify()
	l.mu.Lock()
	if err == nil {
		l.extendLocked(start)
	}
	if !consistent {
		l.err, l.pending = err, nil
		close(ch)
	}
	l.mu.Unlock()
	return err
}

// confirmedAt extends the lease from start: a write this leader began at
// start has committed, so a quorum heard from it since then just as a
// VerifyLeader round begun then would show. A read that follows a write,
// as a renderer's does after a registration, then needs no round of its
// own.
func (s *Server) confirmedAt(start time.Time) {
	s.lease.mu.Lock()
	s.lease.extendLocked(start)
	s.lease.mu.Unlock()
}

func (l *lease) extendLocked(start time.Time) {
	if until := start.Add(leaseTime); until.After(l.until) {
		l.until = until
	}
	if start.After(l.confirmed) {
		l.confirmed = start
	}
}

// LeaseRounds is the number of quorum rounds this server ran to confirm
// its leadership for reads.
func (s *Server) LeaseRounds() uint64 { return s.lease.rounds.Load() }
