package gossip

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"

	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/internal/syncbuf"
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

// newPoolAt is newPool on a given port (0 picks one), logging to log when
// it is set.
func newPoolAt(t *testing.T, name string, port int, log *syncbuf.Buffer) *Pool {
	t.Helper()
	cfg := Config{NodeName: name, BindAddr: "127.0.0.1", BindPort: port,
		Tags: map[string]string{"role": "node", "dc": "dc1", "id": name + "-id"}}
	if log != nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Output: log, Level: hclog.Debug})
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Shutdown)
	return p
}

func runOfMember(p *Pool, name string) string {
	for _, m := range p.Members() {
		if m.Name == name {
			return m.Run
		}
	}
	return ""
}

// An agent that left and started again at once under the same name and
// address is listed alive, as its new run, and the leave and left messages
// of its earlier run, arriving late, do not take it out again; nor does a
// left message about it that a third member made up. Its new run's own
// leave is taken as before.
func TestLeaveOfAnEarlierRunOrAnotherMemberIsIgnored(t *testing.T) {
	var log syncbuf.Buffer
	a := newPoolAt(t, "a", 0, &log)
	b1 := newPool(t, "b")
	if _, err := b1.Join([]string{addr(a)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, a, "b", structs.MemberAlive, 5*time.Second)
	_, port := b1.LocalAddr()
	earlier := b1.secret
	if err := b1.Leave(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, a, "b", structs.MemberLeft, 5*time.Second)

	b2 := newPoolAt(t, "b", port, nil)
	if _, err := b2.Join([]string{addr(a)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, a, "b", structs.MemberAlive, 5*time.Second)
	if got := runOfMember(a, "b"); got != b2.run {
		t.Fatalf("a lists b's run as %q, want the new run %q", got, b2.run)
	}
	a.queue.Reset()
	deliver(a, userMsg{Kind: "leave", Node: "b", Secret: earlier})
	deliver(a, userMsg{Kind: "left", Node: "b", Secret: earlier, ID: 7})
	if got := statusOf(a, "b"); got != structs.MemberAlive {
		t.Fatalf("the earlier run's leave made b, started again, %s", got)
	}
	if n := a.queue.NumQueued(); n != 0 {
		t.Fatalf("the earlier run's leave was passed on (%d queued)", n)
	}

	// A third member sends a "left" about b over the network.
	c := newPool(t, "c")
	if _, err := c.Join([]string{addr(a)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "a", structs.MemberAlive, 5*time.Second)
	var to *memberlist.Node
	for _, n := range c.ml.Members() {
		if n.Name == "a" {
			to = n
		}
	}
	for _, secret := range []string{"", c.secret} {
		forged, _ := json.Marshal(userMsg{Kind: "left", Node: "b", ID: 9, Secret: secret})
		if err := c.ml.SendReliable(to, append([]byte{msgUser}, forged...)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "ignoring a left message") {
		if got := statusOf(a, "b"); got != structs.MemberAlive {
			t.Fatalf("a left message c made up about b made it %s", got)
		}
		if time.Now().After(deadline) {
			t.Fatal("a did not log the made-up left message as ignored")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := statusOf(a, "b"); got != structs.MemberAlive {
		t.Fatalf("a left message c made up about b made it %s", got)
	}

	if err := b2.Leave(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(a, "b"); got != structs.MemberLeft {
		t.Fatalf("b's new run left; a lists it as %s once the leave returned, want left", got)
	}
}
