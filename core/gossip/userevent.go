package gossip

import (
	"encoding/json"
	"fmt"
	"sync"
)

// User events travel the pool as broadcasts, each with a Lamport time: the
// member that sends one advances its clock, every member that hears of one
// moves its clock past the event's. A member hands each event to
// Config.UserEvent once, the first time it hears of it, and passes it on;
// it knows events by their ID for the last eventMemory events, and drops
// events older than eventMaxAge Lamport ticks, which it could no longer
// tell apart from ones it already delivered. The last pushEvents events also
// ride on the pool's periodic state exchange, so a member that missed every
// broadcast of one still gets it; a member joining the pool takes the
// events of that exchange as already seen, so it does not replay history.
const (
	eventMemory = 1024
	eventMaxAge = 512
	pushEvents  = 64
	// maxEventMsg bounds an encoded event so that it fits one gossip
	// packet with room for the pool's headers.
	maxEventMsg = 1200
)

// eventMsg is one user event on the wire.
type eventMsg struct {
	ID    string
	LTime uint64
	Body  json.RawMessage
}

// eventState is what a member sends of its events in a state exchange.
type eventState struct {
	LTime  uint64
	Events []eventMsg `json:",omitempty"`
}

// userEvents is a member's record of the events it has seen.
type userEvents struct {
	mu     sync.Mutex
	clock  uint64
	seen   map[string]struct{}
	order  [eventMemory]string // seen IDs, oldest overwritten first
	next   int
	recent []eventMsg // the last pushEvents events, oldest first
	// joining counts this member's own Join calls under way.
	joining int
}

// witness moves the clock past t.
func (u *userEvents) witnessLocked(t uint64) {
	if t >= u.clock {
		u.clock = t + 1
	}
}

// admitLocked records m and reports whether it is new and recent enough to
// deliver.
func (u *userEvents) admitLocked(m eventMsg) bool {
	if _, ok := u.seen[m.ID]; ok {
		return false
	}
	if u.clock > eventMaxAge && m.LTime < u.clock-eventMaxAge {
		return false
	}
	if u.seen == nil {
		u.seen = make(map[string]struct{}, eventMemory)
	}
	if old := u.order[u.next]; old != "" {
		delete(u.seen, old)
	}
	u.order[u.next] = m.ID
	u.next = (u.next + 1) % eventMemory
	u.seen[m.ID] = struct{}{}
	u.recent = append(u.recent, m)
	if len(u.recent) > pushEvents {
		u.recent = append(u.recent[:0:0], u.recent[len(u.recent)-pushEvents:]...)
	}
	return true
}

// UserEvent sends an event to every member: body (JSON) is handed to
// Config.UserEvent on each member once, on this one before UserEvent
// returns. It returns the event's Lamport time.
func (p *Pool) UserEvent(id string, body []byte) (uint64, error) {
	if !json.Valid(body) {
		return 0, fmt.Errorf("user event %s: the body is not JSON", id)
	}
	u := &p.userEvents
	u.mu.Lock()
	u.clock++
	m := eventMsg{ID: id, LTime: u.clock, Body: body}
	msg, err := encodeEvent(m)
	if err == nil && !u.admitLocked(m) {
		err = fmt.Errorf("user event %s was sent already", id)
	}
	u.mu.Unlock()
	if err != nil {
		return 0, err
	}
	p.deliverEvent(m)
	p.queue.QueueBroadcast(&broadcast{name: "event:" + id, msg: msg})
	return m.LTime, nil
}

func encodeEvent(m eventMsg) ([]byte, error) {
	b, err := json.Marshal(userMsg{Kind: "event", Event: &m})
	if err != nil {
		return nil, err
	}
	if len(b)+1 > maxEventMsg {
		return nil, fmt.Errorf("user event %s: %d bytes encoded, more than the %d a gossip message carries", m.ID, len(b)+1, maxEventMsg)
	}
	return append([]byte{msgUser}, b...), nil
}

// heardEvent takes an event another member passed on: it delivers and
// passes it on in turn when it is new.
func (p *Pool) heardEvent(m eventMsg) {
	u := &p.userEvents
	u.mu.Lock()
	u.witnessLocked(m.LTime)
	fresh := u.admitLocked(m)
	u.mu.Unlock()
	if !fresh {
		return
	}
	msg, err := encodeEvent(m)
	if err != nil {
		p.logger.Warn("dropping a user event that cannot be passed on", "error", err)
		return
	}
	p.deliverEvent(m)
	p.queue.QueueBroadcast(&broadcast{name: "event:" + m.ID, msg: msg})
}

func (p *Pool) deliverEvent(m eventMsg) {
	if p.cfg.UserEvent != nil {
		p.cfg.UserEvent(m.Body, m.LTime)
	}
}

// eventState is this member's part of a state exchange.
func (p *Pool) eventState() eventState {
	u := &p.userEvents
	u.mu.Lock()
	defer u.mu.Unlock()
	return eventState{LTime: u.clock, Events: append([]eventMsg(nil), u.recent...)}
}

// mergeEventState takes another member's events from a state exchange.
// During this member's own join they are recorded as seen, not delivered.
func (p *Pool) mergeEventState(s eventState, join bool) {
	u := &p.userEvents
	u.mu.Lock()
	u.witnessLocked(s.LTime)
	ignore := join && u.joining > 0
	if ignore {
		for _, m := range s.Events {
			u.admitLocked(m)
		}
		u.mu.Unlock()
		return
	}
	u.mu.Unlock()
	for _, m := range s.Events {
		p.heardEvent(m)
	}
}

// joinStarted and joinEnded bracket this member's own Join.
func (p *Pool) joinStarted() {
	p.userEvents.mu.Lock()
	p.userEvents.joining++
	p.userEvents.mu.Unlock()
}

func (p *Pool) joinEnded() {
	p.userEvents.mu.Lock()
	p.userEvents.joining--
	p.userEvents.mu.Unlock()
}
