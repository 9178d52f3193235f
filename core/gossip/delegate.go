package gossip

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/beacon-sd/beacon/core/structs"
)

// Message kinds carried by memberlist user messages.
const msgUser byte = 1

type userMsg struct {
	Kind  string
	Node  string `json:",omitempty"`
	Prune bool   `json:",omitempty"`
	Key   string `json:",omitempty"`
	// Secret proves a leave or left message comes from the node it names
	// (see run.go).
	Secret string `json:",omitempty"`

	// Keyring requests and their answers.
	ID      uint64   `json:",omitempty"`
	Op      string   `json:",omitempty"`
	Keys    []string `json:",omitempty"`
	Primary string   `json:",omitempty"`
	Error   string   `json:",omitempty"`

	// A user event.
	Event *eventMsg `json:",omitempty"`
}

// delegate carries tags and broadcasts.
type delegate struct{ p *Pool }

func (d *delegate) NodeMeta(limit int) []byte {
	d.p.mu.Lock()
	meta := copyTags(d.p.tags)
	d.p.mu.Unlock()
	meta[runKey] = d.p.run
	b, _ := json.Marshal(meta)
	if len(b) > limit {
		d.p.logger.Error("node tags exceed the gossip metadata limit; they are not sent", "bytes", len(b), "limit", limit)
		return nil
	}
	return b
}

func (d *delegate) NotifyMsg(b []byte) {
	if len(b) == 0 || b[0] != msgUser {
		return
	}
	var m userMsg
	if err := json.Unmarshal(b[1:], &m); err != nil {
		return
	}
	switch m.Kind {
	case "force-leave":
		d.p.applyForceLeave(m.Node, m.Prune)
	case "leave":
		d.p.heardLeave(m)
	case "left":
		if d.p.markLeft(m) && m.ID != 0 {
			go d.p.ackLeft(m)
		}
	case "left-ack":
		d.p.requests.answer(m)
	case "key-request":
		go d.p.answerKeyRequest(m)
	case "key-answer":
		d.p.requests.answer(m)
	case "event":
		if m.Event != nil {
			d.p.heardEvent(*m.Event)
		}
	}
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.p.queue.GetBroadcasts(overhead, limit)
}

// LocalState and MergeRemoteState exchange recent user events.
func (d *delegate) LocalState(join bool) []byte {
	b, _ := json.Marshal(d.p.eventState())
	return b
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	if len(buf) == 0 {
		return
	}
	var s eventState
	if err := json.Unmarshal(buf, &s); err != nil {
		d.p.logger.Debug("member sent a state this agent cannot read", "error", err)
		return
	}
	d.p.mergeEventState(s, join)
}

// events turns memberlist's node events into member states.
type events struct{ p *Pool }

func (e *events) NotifyJoin(n *memberlist.Node)   { e.p.update(n, structs.MemberAlive) }
func (e *events) NotifyUpdate(n *memberlist.Node) { e.p.update(n, structs.MemberAlive) }

// NotifyLeave: a member that announced its leave has left; any other
// departure is a failure. (memberlist's own left/dead distinction does not
// reach its event delegate, hence the announcement.)
func (e *events) NotifyLeave(n *memberlist.Node) {
	e.p.mu.Lock()
	m, ok := e.p.members[n.Name]
	leaving := ok && (m.Status == structs.MemberLeaving || m.Status == structs.MemberLeft)
	e.p.mu.Unlock()
	if leaving {
		e.p.update(n, structs.MemberLeft)
	} else {
		e.p.update(n, structs.MemberFailed)
	}
}

func (p *Pool) update(n *memberlist.Node, status structs.MemberStatus) {
	var tags map[string]string
	if len(n.Meta) > 0 {
		if err := json.Unmarshal(n.Meta, &tags); err != nil {
			p.logger.Warn("member sent unreadable tags", "member", n.Name, "error", err)
		}
	}
	run := tags[runKey]
	delete(tags, runKey)
	p.mu.Lock()
	m, ok := p.members[n.Name]
	if !ok {
		m = &member{}
		p.members[n.Name] = m
	}
	restarted := ok && m.Run != "" && m.Run != run
	changed := !ok || m.Status != status || m.Addr != n.Addr.String() || m.Run != run || !structs.MapsEqual(m.Tags, tags)
	if m.Status != status {
		m.since = time.Now()
	}
	m.Member = structs.Member{Name: n.Name, Addr: n.Addr.String(), Port: n.Port, Tags: tags, Status: status, Run: run}
	p.mu.Unlock()
	if changed {
		switch {
		case status == structs.MemberFailed:
			p.logger.Warn("member failed", "member", n.Name, "address", n.Address())
		case restarted:
			p.logger.Info("member's agent started again", "member", n.Name, "status", status.String())
		default:
			p.logger.Debug("member changed", "member", n.Name, "status", status.String())
		}
		p.notify()
	}
}

// broadcast is one queued user message.
type broadcast struct {
	name string
	msg  []byte
}

func (b *broadcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(*broadcast)
	return ok && ob.name == b.name
}
func (b *broadcast) Message() []byte { return b.msg }
func (b *broadcast) Finished()       {}

func containsAny(s, sub string) bool { return strings.Contains(s, sub) }

// stripLevel drops memberlist's own timestamp and level prefix.
func stripLevel(line string) string {
	for _, lvl := range []string{"[ERR] ", "[WARN] ", "[DEBUG] ", "[INFO] "} {
		if i := strings.Index(line, lvl); i >= 0 {
			return line[i+len(lvl):]
		}
	}
	return line
}

// conflicts reports two agents using one node name: memberlist keeps the
// first, and the second cannot join until one of them is renamed.
type conflicts struct{ p *Pool }

func (c *conflicts) NotifyConflict(existing, other *memberlist.Node) {
	c.p.logger.Error("two agents use the same node name; the second is refused until one is renamed (-node)",
		"node", existing.Name, "known_address", existing.Address(), "other_address", other.Address())
}
