package gossip

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// heard records the user events a pool delivered.
type heard struct {
	mu     sync.Mutex
	bodies []string
	ltimes []uint64
}

func (h *heard) add(body []byte, ltime uint64) {
	h.mu.Lock()
	h.bodies = append(h.bodies, string(body))
	h.ltimes = append(h.ltimes, ltime)
	h.mu.Unlock()
}

// count is how many times body was delivered, and the Lamport time of the
// first delivery.
func (h *heard) count(body string) (int, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, lt := 0, uint64(0)
	for i, b := range h.bodies {
		if b == body {
			if n == 0 {
				lt = h.ltimes[i]
			}
			n++
		}
	}
	return n, lt
}

func newEventPool(t *testing.T, name string) (*Pool, *heard) {
	t.Helper()
	h := &heard{}
	p, err := New(Config{NodeName: name, BindAddr: "127.0.0.1", BindPort: 0,
		Tags: map[string]string{"role": "node", "dc": "dc1"}, UserEvent: h.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Shutdown)
	return p, h
}

func TestUserEventsReachEveryMemberOnce(t *testing.T) {
	a, ha := newEventPool(t, "a")
	b, hb := newEventPool(t, "b")
	c, hc := newEventPool(t, "c")
	for _, p := range []*Pool{b, c} {
		if _, err := p.Join([]string{addr(a)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*Pool{a, b, c} {
		for _, name := range []string{"a", "b", "c"} {
			waitStatus(t, p, name, structs.MemberAlive, 10*time.Second)
		}
	}

	lt1, err := a.UserEvent("e1", []byte(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := ha.count(`{"n":1}`); n != 1 {
		t.Fatalf("the sender delivered its own event %d times before UserEvent returned", n)
	}
	all := []*heard{ha, hb, hc}
	waitAll := func(body string) {
		t.Helper()
		waitfor.Until(t, 20*time.Second, "every member to hear "+body, func() bool {
			for _, h := range all {
				if n, _ := h.count(body); n == 0 {
					return false
				}
			}
			return true
		})
	}
	waitAll(`{"n":1}`)

	// b heard e1, so its clock is past e1's time: its own event is later.
	lt2, err := b.UserEvent("e2", []byte(`{"n":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if lt2 <= lt1 {
		t.Errorf("Lamport time of an event sent after hearing one: %d, not past %d", lt2, lt1)
	}
	waitAll(`{"n":2}`)
	// Every member passed both on: each still delivered each once.
	time.Sleep(time.Second)
	for i, h := range all {
		for _, body := range []string{`{"n":1}`, `{"n":2}`} {
			if n, lt := h.count(body); n != 1 || lt == 0 {
				t.Errorf("member %d delivered %s %d times (ltime %d)", i, body, n, lt)
			}
		}
	}
	if _, err := a.UserEvent("e1", []byte(`{"n":1}`)); err == nil {
		t.Error("an event ID sent twice was accepted")
	}

	// A member joining later takes what the pool heard as history: it gets
	// new events only.
	d, hd := newEventPool(t, "d")
	if _, err := d.Join([]string{addr(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UserEvent("e3", []byte(`{"n":3}`)); err != nil {
		t.Fatal(err)
	}
	all = append(all, hd)
	waitAll(`{"n":3}`)
	for _, body := range []string{`{"n":1}`, `{"n":2}`} {
		if n, _ := hd.count(body); n != 0 {
			t.Errorf("a member that joined later replayed %s", body)
		}
	}
}

func TestUserEventStateExchange(t *testing.T) {
	a, ha := newEventPool(t, "a")
	st := eventState{LTime: 40, Events: []eventMsg{{ID: "x", LTime: 39, Body: []byte(`"x"`)}}}
	// A member that missed every broadcast of an event gets it from the
	// periodic exchange.
	a.mergeEventState(st, false)
	if n, lt := ha.count(`"x"`); n != 1 || lt != 39 {
		t.Fatalf("event from a state exchange delivered %d times, ltime %d", n, lt)
	}
	a.mergeEventState(st, false)
	if n, _ := ha.count(`"x"`); n != 1 {
		t.Fatalf("event from a second exchange delivered again: %d", n)
	}
	if lt, err := a.UserEvent("y", []byte(`"y"`)); err != nil || lt <= 40 {
		t.Fatalf("clock after an exchange at 40: %d, %v", lt, err)
	}
	// During this member's own join, the others' events are history.
	a.joinStarted()
	a.mergeEventState(eventState{LTime: 50, Events: []eventMsg{{ID: "z", LTime: 49, Body: []byte(`"z"`)}}}, true)
	a.joinEnded()
	if n, _ := ha.count(`"z"`); n != 0 {
		t.Fatal("an event of the join's exchange was delivered")
	}
	// An event far older than the clock is dropped: it could be one already
	// delivered and forgotten.
	a.mergeEventState(eventState{LTime: 2000, Events: []eventMsg{{ID: "old", LTime: 3, Body: []byte(`"old"`)}}}, false)
	if n, _ := ha.count(`"old"`); n != 0 {
		t.Fatal("an event older than the clock's window was delivered")
	}
	if _, err := a.UserEvent("big", []byte(`"`+strings.Repeat("a", maxEventMsg)+`"`)); err == nil ||
		!strings.Contains(err.Error(), "gossip message") {
		t.Fatalf("oversized event: %v", err)
	}
	if _, err := a.UserEvent("bad", []byte(`not json`)); err == nil {
		t.Fatal("a body that is not JSON was sent")
	}
}
