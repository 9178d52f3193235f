// Package event is the agent's side of user events: what a fired event
// must satisfy before it is sent, how an agent decides an event is meant for
// it (its node name, and a local service and tag matching the event's
// filters), the ring of the last RingSize events it accepted, which
// /v1/event/list reads and blocks on, and the index a list reports. Events
// are not stored by the servers: they travel the LAN gossip pool, which
// gives each a Lamport time and delivers it once to every member.
package event

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/structs"
)

const (
	// RingSize is how many accepted events an agent keeps.
	RingSize = 256
	// MaxSize bounds an event's name, payload and filters together, so
	// that it fits one gossip packet.
	MaxSize = 512
	// Version is the event format this agent writes and reads.
	Version = 1
)

// ErrTooLarge is wrapped by the error of an event over MaxSize.
var ErrTooLarge = errors.New("event too large")

// Validate checks an event as a user fires it: a name that is not
// reserved, filters that compile (a tag filter only with a service
// filter), and a size gossip carries.
func Validate(e *api.UserEvent) error {
	switch {
	case e.Name == "":
		return fmt.Errorf("missing event name")
	case strings.HasPrefix(e.Name, "_"):
		return fmt.Errorf("event name %q: names starting with an underscore are reserved", e.Name)
	case e.TagFilter != "" && e.ServiceFilter == "":
		return fmt.Errorf("a tag filter needs a service filter")
	}
	for _, f := range []struct{ what, re string }{
		{"node", e.NodeFilter}, {"service", e.ServiceFilter}, {"tag", e.TagFilter},
	} {
		if _, err := regexp.Compile(f.re); err != nil {
			return fmt.Errorf("invalid %s filter %q: %v", f.what, f.re, err)
		}
	}
	n := len(e.Name) + len(e.Payload) + len(e.NodeFilter) + len(e.ServiceFilter) + len(e.TagFilter)
	if n > MaxSize {
		return fmt.Errorf("%w: its name, payload and filters take %d bytes, and at most %d fit in a gossip message (keep payloads under 100 bytes)",
			ErrTooLarge, n, MaxSize)
	}
	return nil
}

// Index is the index a list of events ending with the event id reports
// (X-Consul-Index): the two 64-bit halves of the UUID XORed, as Consul
// computes it. It is not monotonic; a blocking list waits for it to differ.
// An ID that is not a UUID gives 0.
func Index(id string) uint64 {
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(b) != 16 || len(id) != 36 {
		return 0
	}
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi ^ lo
}

// ListIndex is the index of a list of events: that of its last event, or 1
// when it is empty (never 0, which would not block).
func ListIndex(evs []*api.UserEvent) uint64 {
	if len(evs) == 0 {
		return 1
	}
	if i := Index(evs[len(evs)-1].ID); i != 0 {
		return i
	}
	return 1
}

// Config is what an agent's events need.
type Config struct {
	// Node is the agent's node name, for node filters.
	Node   string
	Logger hclog.Logger
}

// Send delivers an encoded event to every agent of the pool, this one
// included, and returns the Lamport time it was given.
type Send func(id string, body []byte) (ltime uint64, err error)

// Events is an agent's user events: those it fires and those it accepts.
type Events struct {
	cfg      Config
	logger   hclog.Logger
	send     atomic.Pointer[Send]
	services atomic.Pointer[func() []*structs.NodeService]
	// clock gives events their Lamport time while there is no pool.
	clock atomic.Uint64

	mu      sync.Mutex
	ring    [RingSize]*api.UserEvent
	next    int  // where the next event goes
	full    bool // every slot holds an event
	changed chan struct{}
}

// New makes an agent's events; until SetSend, fired events reach this agent
// only (an agent without a gossip pool).
func New(cfg Config) *Events {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Events{cfg: cfg, logger: cfg.Logger.Named("event"), changed: make(chan struct{})}
}

// SetSend makes fired events travel through send.
func (e *Events) SetSend(send Send) { e.send.Store(&send) }

// SetServices gives the agent's local services, for service and tag
// filters; until then such events find no service here.
func (e *Events) SetServices(services func() []*structs.NodeService) { e.services.Store(&services) }

// Fire validates ev, gives it an ID and the version, and sends it to every
// agent. ev then also carries the Lamport time it was sent with.
func (e *Events) Fire(ev *api.UserEvent) error {
	if err := Validate(ev); err != nil {
		return err
	}
	ev.ID, ev.Version, ev.LTime = structs.GenerateUUID(), Version, 0
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if send := e.send.Load(); send != nil {
		lt, err := (*send)(ev.ID, body)
		if err != nil {
			return fmt.Errorf("event %q not sent: %w", ev.Name, err)
		}
		ev.LTime = lt
		return nil
	}
	ev.LTime = e.clock.Add(1)
	e.Receive(body, ev.LTime)
	return nil
}

// Receive takes an event from the pool (each event once) and keeps it if
// it is meant for this agent.
func (e *Events) Receive(body []byte, ltime uint64) {
	ev := new(api.UserEvent)
	if err := json.Unmarshal(body, ev); err != nil || ev.ID == "" || ev.Name == "" {
		e.logger.Warn("dropping an event that cannot be read", "error", err)
		return
	}
	ev.LTime = ltime
	if ev.Version > Version {
		e.logger.Warn("event of a newer version; it may use features this agent does not know", "event", ev.Name, "version", ev.Version)
	}
	if ok, err := e.accepts(ev); err != nil {
		e.logger.Warn("dropping an event whose filter does not compile", "event", ev.Name, "id", ev.ID, "error", err)
		return
	} else if !ok {
		return
	}
	e.logger.Debug("new event", "event", ev.Name, "id", ev.ID, "ltime", ltime)
	e.mu.Lock()
	e.ring[e.next] = ev
	e.next = (e.next + 1) % RingSize
	e.full = e.full || e.next == 0
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// accepts reports whether ev's filters select this agent: its node name
// matches the node filter, and one of its services matches the service
// filter with, when there is a tag filter, a tag that matches it.
func (e *Events) accepts(ev *api.UserEvent) (bool, error) {
	if ev.NodeFilter != "" {
		re, err := regexp.Compile(ev.NodeFilter)
		if err != nil {
			return false, err
		}
		if !re.MatchString(e.cfg.Node) {
			return false, nil
		}
	}
	if ev.ServiceFilter == "" {
		return true, nil
	}
	svcRe, err := regexp.Compile(ev.ServiceFilter)
	if err != nil {
		return false, err
	}
	var tagRe *regexp.Regexp
	if ev.TagFilter != "" {
		if tagRe, err = regexp.Compile(ev.TagFilter); err != nil {
			return false, err
		}
	}
	fn := e.services.Load()
	if fn == nil {
		return false, nil
	}
	for _, s := range (*fn)() {
		if !svcRe.MatchString(s.Service) {
			continue
		}
		if tagRe == nil {
			return true, nil
		}
		for _, t := range s.Tags {
			if tagRe.MatchString(t) {
				return true, nil
			}
		}
	}
	return false, nil
}

// List returns the events this agent kept, oldest first, and a channel
// closed when another is added.
func (e *Events) List() ([]*api.UserEvent, <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*api.UserEvent
	if e.full {
		out = make([]*api.UserEvent, 0, RingSize)
		out = append(out, e.ring[e.next:]...)
	} else {
		out = make([]*api.UserEvent, 0, e.next)
	}
	out = append(out, e.ring[:e.next]...)
	return out, e.changed
}
