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
// round serves every read that waits on it.
type lease struct {
	rounds  atomic.Uint64 // quorum rounds run for leader reads
	mu      sync.Mutex
	until   time.Time
	pending chan struct{}
	err     error
}

// leaderReads confirms this server may answer a leader read: within the
// lease for default reads, with a fresh quorum round for consistent ones.
func (s *Server) leaderReads(consistent bool) error {
	l := &s.lease
	l.mu.Lock()
	if !consistent && time.Now().Before(l.until) {
		l.mu.Unlock()
		return nil
	}
	if l.pending != nil && !consistent {
		ch := l.pending
		l.mu.Unlock()
		<-ch
		l.mu.Lock()
		err := l.err
		l.mu.Unlock()
		return err
	}
	ch := make(chan struct{})
	if !consistent {
		l.pending = ch
	}
	l.mu.Unlock()

	start := time.Now()
	l.rounds.Add(1)
	err := s.raft.VerifyLeader().Error()
	if err != nil {
		err = fmt.Errorf("%w: %v", structs.ErrNoLeader, err)
	}
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
}

// LeaseRounds is the number of quorum rounds this server ran to confirm
// its leadership for reads.
func (s *Server) LeaseRounds() uint64 { return s.lease.rounds.Load() }
