package gossip

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/beacon-sd/beacon/core/structs"
)

// deliver hands p a user message as if a member had sent it.
func deliver(p *Pool, m userMsg) {
	b, _ := json.Marshal(m)
	(&delegate{p}).NotifyMsg(append([]byte{msgUser}, b...))
}

func setMember(p *Pool, name string, status structs.MemberStatus, ago time.Duration) {
	p.mu.Lock()
	p.members[name] = &member{Member: structs.Member{Name: name, Status: status}, since: time.Now().Add(-ago)}
	p.mu.Unlock()
}

// A member that hears of a leave passes it on once, so the news reaches
// members the leaving node never gossiped with; it never takes its own
// leave from another.
func TestLeaveAnnouncementIsPassedOn(t *testing.T) {
	a := newPool(t, "a")
	setMember(a, "x", structs.MemberAlive, time.Minute)
	deliver(a, userMsg{Kind: "leave", Node: "x"})
	if got := statusOf(a, "x"); got != structs.MemberLeaving {
		t.Fatalf("x after its announcement: %s, want leaving", got)
	}
	if n := a.queue.NumQueued(); n != 1 {
		t.Fatalf("announcement queued %d times to be passed on, want 1", n)
	}
	a.queue.Reset()
	deliver(a, userMsg{Kind: "leave", Node: "x"})
	if n := a.queue.NumQueued(); n != 0 {
		t.Fatalf("an announcement heard twice was passed on again (%d queued)", n)
	}
	deliver(a, userMsg{Kind: "leave", Node: "a"})
	if got := statusOf(a, "a"); got != structs.MemberAlive {
		t.Fatalf("a member took its own leave from another: %s", got)
	}
}

// The "left" message a leaving node sends each member makes it left at
// once, whatever was heard before; memberlist's later notice of the node
// going away does not turn it into a failure.
func TestLeftMessage(t *testing.T) {
	a := newPool(t, "a")
	for _, st := range []structs.MemberStatus{structs.MemberAlive, structs.MemberLeaving, structs.MemberFailed} {
		setMember(a, "x", st, time.Minute)
		deliver(a, userMsg{Kind: "left", Node: "x"})
		if got := statusOf(a, "x"); got != structs.MemberLeft {
			t.Fatalf("%s member after its left message: %s, want left", st, got)
		}
		(&events{a}).NotifyLeave(&memberlist.Node{Name: "x"})
		if got := statusOf(a, "x"); got != structs.MemberLeft {
			t.Fatalf("memberlist's notice after the left message made x %s", got)
		}
	}
	deliver(a, userMsg{Kind: "left", Node: "a"})
	if got := statusOf(a, "a"); got != structs.MemberAlive {
		t.Fatalf("a member took its own departure from another: %s", got)
	}
}

// Every member lists a node that left as left by the time its leave
// returns, and one said to have left
// that memberlist still finds alive long after is listed alive again.
func TestLeaveReachesEveryMember(t *testing.T) {
	pools := []*Pool{newPool(t, "a"), newPool(t, "b"), newPool(t, "c"), newPool(t, "d")}
	for _, p := range pools[1:] {
		if _, err := p.Join([]string{addr(pools[0])}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pools {
		for _, q := range pools {
			waitStatus(t, p, q.cfg.NodeName, structs.MemberAlive, 5*time.Second)
		}
	}
	if err := pools[3].Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, p := range pools[:3] {
		if got := statusOf(p, "d"); got != structs.MemberLeft {
			t.Errorf("%s lists d as %s once its leave returned, want left", p.cfg.NodeName, got)
		}
	}

	a := pools[0]
	setMember(a, "b", structs.MemberLeft, reviveAfter+time.Second)
	a.revive()
	if got := statusOf(a, "b"); got != structs.MemberAlive {
		t.Fatalf("b, alive in memberlist long after it was said to leave: %s", got)
	}
	setMember(a, "c", structs.MemberLeft, time.Second)
	a.revive()
	if got := statusOf(a, "c"); got != structs.MemberLeft {
		t.Fatalf("c, said to leave a second ago: %s, want left until memberlist catches up", got)
	}
}
