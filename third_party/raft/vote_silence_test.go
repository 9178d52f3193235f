package raft

import (
	"testing"
	"time"
)

// A follower refuses votes for the sake of a leader it heard from within
// its heartbeat timeout, and grants them once that leader has been silent
// longer: when the leader dies, the first follower to time out is elected
// without waiting for the others to forget it.
func TestRaft_VoteAfterLeaderSilence(t *testing.T) {
	c := MakeCluster(3, t, nil)
	defer c.Close()
	leader := c.Leader()
	followers := c.Followers()
	if len(followers) != 2 {
		t.Fatalf("followers: %v", followers)
	}
	a, b := followers[0], followers[1]

	// b's own timers stay quiet for the whole test, so only the vote
	// rule can make it vote.
	rc := b.ReloadableConfig()
	rc.HeartbeatTimeout, rc.ElectionTimeout = time.Minute, time.Minute
	if err := b.ReloadConfig(rc); err != nil {
		t.Fatal(err)
	}
	slow := b.config().HeartbeatTimeout
	time.Sleep(c.propagateTimeout) // b's loop takes up the new timers

	vote := func() bool {
		req := RequestVoteRequest{
			RPCHeader:    a.getRPCHeader(),
			Term:         b.getCurrentTerm() + 1,
			LastLogIndex: b.LastIndex(),
			LastLogTerm:  b.getCurrentTerm(),
		}
		var resp RequestVoteResponse
		if err := c.trans[c.IndexOf(a)].RequestVote(b.localID, b.localAddr, &req, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.Granted
	}
	if vote() {
		t.Fatal("a follower that hears from its leader granted a vote")
	}

	// The leader goes silent (what it had sent arrives first); b's last
	// contact is long past.
	c.Partition([]ServerAddress{leader.localAddr})
	time.Sleep(c.propagateTimeout)
	b.lastContactLock.Lock()
	b.lastContact = time.Now().Add(-2 * slow)
	b.lastContactLock.Unlock()

	// a times out (its heartbeat timeout is the test's short one) and b
	// votes for it; b still names the old leader until then.
	deadline := time.Now().Add(c.longstopTimeout)
	for a.State() != Leader {
		if time.Now().After(deadline) {
			t.Fatalf("no new leader; b's leader is %q, a is %v", b.Leader(), a.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
