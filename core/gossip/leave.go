package gossip

import (
	"encoding/json"
	"net"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/beacon-sd/beacon/core/structs"
)

// A graceful leave reaches the other members three ways: the "leave"
// announcement, which every member passes on the first time it hears it;
// memberlist's own notice that the node went away; and, once that notice
// is out, a "left" message sent to each member directly. The first makes
// the node "leaving" (or turns a failure seen before it into "left"), the
// second and third make it "left". Each member confirms the third, so
// when Leave returns every member that could be reached lists the node as
// left. The announcement and the left message carry this run's secret (see
// run.go): a member ignores them unless they come from the run of the node
// it lists.

// lateLeave is how long after a member was seen to fail its leave
// announcement still turns the failure into a departure: the announcement
// and memberlist's own notice of the node going away travel separately, and
// the notice can win.
const lateLeave = 10 * time.Second

// reviveAfter is how long a member may be listed as leaving or left while
// memberlist still finds it alive before it is taken for alive again: an
// agent of an older build, which publishes no run, restarted at once on the
// same address answers for the node before anyone saw it gone, and
// memberlist then reports no change.
const reviveAfter = 15 * time.Second

// AnnounceLeave tells the pool this node is about to leave: every member
// passes the news on, so that each one lists this node as "left", not
// "failed", once it is gone. Leave follows.
func (p *Pool) AnnounceLeave() {
	p.leaving.Store(true)
	p.markLeaving(p.cfg.NodeName, p.secret)
	p.queueLeave(userMsg{Node: p.cfg.NodeName, Secret: p.secret})
}

// Leave announces this node's leave (if AnnounceLeave has not), waits up
// to timeout for the news to spread, tells every member it has left, and
// stops.
func (p *Pool) Leave(timeout time.Duration) error {
	if !p.leaving.Load() {
		p.AnnounceLeave()
	}
	start := time.Now()
	for p.queue.NumQueued() > 0 && p.numMembers() > 1 && time.Since(start) < timeout/2 {
		time.Sleep(20 * time.Millisecond)
	}
	// memberlist waits without end for a timeout of 0.
	err := p.ml.Leave(max(timeout*3/4-time.Since(start), time.Millisecond))
	p.sendLeft(timeout - time.Since(start))
	p.Shutdown()
	return err
}

// sendLeft tells each member this node has left, all at once, and waits
// up to timeout for each to confirm that it lists the node as left.
func (p *Pool) sendLeft(timeout time.Duration) {
	var peers []*memberlist.Node
	for _, n := range p.ml.Members() {
		if n.Name != p.cfg.NodeName {
			peers = append(peers, n)
		}
	}
	if len(peers) == 0 {
		return
	}
	id, answers, done := p.requests.open(len(peers))
	defer done()
	msg, _ := json.Marshal(userMsg{Kind: "left", Node: p.cfg.NodeName, ID: id, Secret: p.secret})
	msg = append([]byte{msgUser}, msg...)
	failed := make(chan string, len(peers))
	waiting := map[string]bool{}
	for _, n := range peers {
		waiting[n.Name] = true
		go func(n *memberlist.Node) {
			if err := p.ml.SendReliable(n, msg); err != nil {
				p.logger.Debug("telling a member this node left failed; gossip tells it", "member", n.Name, "error", err)
				failed <- n.Name
			}
		}(n)
	}
	expire := time.NewTimer(max(timeout, 0))
	defer expire.Stop()
	for len(waiting) > 0 {
		select {
		case a := <-answers:
			delete(waiting, a.Node)
		case name := <-failed:
			delete(waiting, name)
		case <-expire.C:
			p.logger.Debug("members that did not confirm this node left in time; gossip tells them", "members", len(waiting))
			return
		}
	}
}

// ackLeft confirms to a member that left that it is listed as left here.
// memberlist no longer lists it, so its address is taken from the member
// list.
func (p *Pool) ackLeft(m userMsg) {
	p.mu.Lock()
	from, ok := p.members[m.Node]
	var to *memberlist.Node
	if ok {
		to = &memberlist.Node{Name: from.Name, Addr: net.ParseIP(from.Addr), Port: from.Port}
	}
	p.mu.Unlock()
	if to == nil || to.Addr == nil {
		return
	}
	b, _ := json.Marshal(userMsg{Kind: "left-ack", Node: p.cfg.NodeName, ID: m.ID})
	if err := p.ml.SendReliable(to, append([]byte{msgUser}, b...)); err != nil {
		p.logger.Debug("cannot confirm a member's leave to it", "member", m.Node, "error", err)
	}
}

// queueLeave gossips a member's leave announcement, with the secret that
// proves it.
func (p *Pool) queueLeave(m userMsg) {
	msg, _ := json.Marshal(userMsg{Kind: "leave", Node: m.Node, Secret: m.Secret})
	p.queue.QueueBroadcast(&broadcast{name: "leave:" + m.Node, msg: append([]byte{msgUser}, msg...)})
}

// heardLeave takes another member's leave announcement and, if it was
// news, passes it on, so that it reaches every member even after the node
// that left stopped gossiping. A member never takes its own leave from
// someone else.
func (p *Pool) heardLeave(m userMsg) {
	if m.Node != p.cfg.NodeName && p.markLeaving(m.Node, m.Secret) {
		p.queueLeave(m)
	}
}

// markLeaving records a member's announcement that it is leaving, if the
// secret proves it comes from the member's current run, and reports
// whether it was news.
func (p *Pool) markLeaving(name, secret string) bool {
	p.mu.Lock()
	m, ok := p.members[name]
	changed, unproven := false, false
	switch {
	case !ok:
	case !m.provenBy(secret):
		unproven = true
	case m.Status == structs.MemberAlive:
		m.Status, m.since, changed = structs.MemberLeaving, time.Now(), true
	case m.Status == structs.MemberFailed && time.Since(m.since) < lateLeave:
		m.Status, m.since, changed = structs.MemberLeft, time.Now(), true
	}
	p.mu.Unlock()
	if unproven {
		p.ignored("leave announcement", name)
	}
	if changed {
		p.notify()
	}
	return changed
}

// markLeft records a member's word that it has left, if the secret proves
// the word comes from the member's current run, and reports whether it
// did.
func (p *Pool) markLeft(msg userMsg) bool {
	if msg.Node == p.cfg.NodeName {
		return false
	}
	p.mu.Lock()
	m, ok := p.members[msg.Node]
	proven := ok && m.provenBy(msg.Secret)
	changed := proven && m.Status != structs.MemberLeft
	if changed {
		m.Status, m.since = structs.MemberLeft, time.Now()
	}
	p.mu.Unlock()
	if ok && !proven {
		p.ignored("left message", msg.Node)
	}
	if changed {
		p.logger.Debug("member changed", "member", msg.Node, "status", structs.MemberLeft.String())
		p.notify()
	}
	return proven
}

// ignored logs a leave or left message that did not come from the run of
// the member it names: an earlier run's, still passed around after the
// agent started again, or one made up by another member.
func (p *Pool) ignored(what, name string) {
	p.logger.Debug("ignoring a "+what+" that does not come from the member's current run", "member", name)
}

// revive lists as alive again the members memberlist has found alive for
// longer than reviveAfter since they were said to be leaving or gone.
func (p *Pool) revive() {
	alive := map[string]*memberlist.Node{}
	for _, n := range p.ml.Members() {
		alive[n.Name] = n
	}
	var back []*memberlist.Node
	p.mu.Lock()
	for name, m := range p.members {
		n, ok := alive[name]
		if ok && name != p.cfg.NodeName && (m.Status == structs.MemberLeaving || m.Status == structs.MemberLeft) &&
			time.Since(m.since) > reviveAfter {
			back = append(back, n)
		}
	}
	p.mu.Unlock()
	for _, n := range back {
		p.logger.Info("member said to leave is alive after all", "member", n.Name)
		p.update(n, structs.MemberAlive)
	}
}
