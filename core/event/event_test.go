package event

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/structs"
)

func TestIndexIsTheClients(t *testing.T) {
	var c api.Event
	for i := 0; i < 100; i++ {
		id := structs.GenerateUUID()
		if got, want := Index(id), c.IDToIndex(id); got != want {
			t.Fatalf("Index(%s) = %d, the official client computes %d", id, got, want)
		}
	}
	for _, bad := range []string{"", "x", "not-a-uuid-at-all-not-a-uuid-at-all", strings.Repeat("z", 36)} {
		if Index(bad) != 0 {
			t.Errorf("Index(%q) = %d, want 0", bad, Index(bad))
		}
	}
	if ListIndex(nil) != 1 {
		t.Errorf("index of an empty list: %d", ListIndex(nil))
	}
}

// TestRingKeepsTheLast256 fires more events than the ring holds: the list
// is the newest RingSize, oldest first, and each addition wakes waiters.
func TestRingKeepsTheLast256(t *testing.T) {
	e := New(Config{Node: "n1"})
	_, changed := e.List()
	for i := 0; i < RingSize+10; i++ {
		if err := e.Fire(&api.UserEvent{Name: fmt.Sprintf("e%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-changed:
	default:
		t.Fatal("adding events did not close the change channel")
	}
	evs, _ := e.List()
	if len(evs) != RingSize || evs[0].Name != "e10" || evs[RingSize-1].Name != fmt.Sprintf("e%d", RingSize+9) {
		t.Fatalf("ring holds %d events, from %s to %s", len(evs), evs[0].Name, evs[len(evs)-1].Name)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].LTime <= evs[i-1].LTime {
			t.Fatalf("Lamport times out of order at %d", i)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		ev   api.UserEvent
		want string
	}{
		{api.UserEvent{}, "missing event name"},
		{api.UserEvent{Name: "_x"}, "reserved"},
		{api.UserEvent{Name: "x", TagFilter: "a"}, "a tag filter needs a service filter"},
		{api.UserEvent{Name: "x", ServiceFilter: "(("}, `invalid service filter "(("`},
		{api.UserEvent{Name: "x", Payload: make([]byte, MaxSize)}, "event too large"},
		{api.UserEvent{Name: "x", Payload: make([]byte, MaxSize-1)}, ""},
	} {
		err := Validate(&c.ev)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.ev.Name, err, c.want)
		}
	}
}
