// Package gossip is the LAN pool every agent joins, on hashicorp/memberlist:
// who is alive, who failed, who left, and what each member's tags say
// (role, datacenter, node ID, server port). It keeps failed members for
// reconnect_timeout and keeps trying to reach them, so a node that was cut
// off rejoins by itself, and it encrypts gossip with a keyring that can be
// rotated.
package gossip

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"

	"github.com/beacon-sd/beacon/core/structs"
)

// Config is what the pool needs.
type Config struct {
	NodeName      string
	BindAddr      string
	BindPort      int
	AdvertiseAddr string
	AdvertisePort int
	Tags          map[string]string
	// Keys are the gossip encryption keys; the first is the primary.
	// KeyringFile, when set, keeps the keyring (and rotations) across
	// restarts.
	Keys        [][]byte
	KeyringFile string
	// AcceptPlain accepts unencrypted gossip besides encrypted gossip
	// (encrypt_verify_incoming = false) and SendPlain sends it unencrypted
	// (encrypt_verify_outgoing = false): the steps of turning encryption on
	// in a running pool, one agent at a time.
	AcceptPlain bool
	SendPlain   bool
	// ReconnectTimeout is how long a failed member is kept and retried
	// (default 72h); LeftTimeout how long a departed one is listed
	// (default 24h).
	ReconnectTimeout time.Duration
	LeftTimeout      time.Duration
	Logger           hclog.Logger
	// Timing overrides the LAN failure-detection defaults (tests).
	ProbeInterval time.Duration
	// UserEvent receives each user event (see UserEvent) once, with its
	// Lamport time. It must not block.
	UserEvent func(body []byte, ltime uint64)
}

// Pool is the LAN gossip pool.
type Pool struct {
	cfg      Config
	logger   hclog.Logger
	ml       *memberlist.Memberlist
	queue    *memberlist.TransmitLimitedQueue
	keys     *keyring
	requests requests
	// userEvents are the user events this member has seen.
	userEvents userEvents
	// secret and run identify this run of the agent (see run.go).
	secret, run string

	mu      sync.Mutex
	members map[string]*member
	tags    map[string]string

	// leaving is set once this node announced its leave.
	leaving atomic.Bool

	events   chan struct{}
	stopCh   chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

type member struct {
	structs.Member
	since time.Time // of the last status change
}

// New starts the pool listening; Join connects it to others.
func New(cfg Config) (*Pool, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.ReconnectTimeout <= 0 {
		cfg.ReconnectTimeout = 72 * time.Hour
	}
	if cfg.LeftTimeout <= 0 {
		cfg.LeftTimeout = 24 * time.Hour
	}
	p := &Pool{
		cfg:     cfg,
		logger:  cfg.Logger.Named("gossip"),
		members: map[string]*member{},
		tags:    copyTags(cfg.Tags),
		events:  make(chan struct{}, 1),
		stopCh:  make(chan struct{}),
	}
	p.secret, p.run = newRun()
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.NodeName
	mc.BindAddr, mc.BindPort = cfg.BindAddr, cfg.BindPort
	mc.AdvertiseAddr, mc.AdvertisePort = cfg.AdvertiseAddr, cfg.AdvertisePort
	// Detect a dead node within a few seconds on a LAN: probe twice a
	// second and keep suspicion short.
	mc.ProbeInterval = 500 * time.Millisecond
	mc.ProbeTimeout = 400 * time.Millisecond
	mc.SuspicionMult = 2
	mc.SuspicionMaxTimeoutMult = 2
	mc.GossipInterval = 100 * time.Millisecond
	if cfg.ProbeInterval > 0 {
		mc.ProbeInterval = cfg.ProbeInterval
		mc.ProbeTimeout = cfg.ProbeInterval * 4 / 5
	}
	mc.Logger = nil
	mc.LogOutput = &logWriter{logger: p.logger, stop: p.stopCh}
	mc.Events = &events{p}
	mc.Delegate = &delegate{p}
	mc.Conflict = &conflicts{p}
	keys, err := loadKeyring(cfg.KeyringFile, cfg.Keys, p.logger)
	if err != nil {
		return nil, err
	}
	p.keys = keys
	if kr := keys.memberlistKeyring(); kr != nil {
		mc.Keyring = kr
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = !cfg.AcceptPlain, !cfg.SendPlain
	}
	p.queue = &memberlist.TransmitLimitedQueue{NumNodes: func() int { return p.numMembers() }, RetransmitMult: 3}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("gossip on %s:%d: %w", cfg.BindAddr, cfg.BindPort, err)
	}
	p.ml = ml
	p.wg.Add(1)
	go p.maintain()
	return p, nil
}

// Events signals (coalesced) that the member list changed.
func (p *Pool) Events() <-chan struct{} { return p.events }

func (p *Pool) notify() {
	select {
	case p.events <- struct{}{}:
	default:
	}
}

// LocalAddr is the advertised gossip address of this node.
func (p *Pool) LocalAddr() (string, int) {
	n := p.ml.LocalNode()
	return n.Addr.String(), int(n.Port)
}

// Members lists every known member, including failed and departed ones,
// sorted by name.
func (p *Pool) Members() []structs.Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]structs.Member, 0, len(p.members))
	for _, m := range p.members {
		cp := m.Member
		cp.Tags = copyTags(m.Tags)
		out = append(out, cp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (p *Pool) numMembers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.members {
		if m.Status == structs.MemberAlive {
			n++
		}
	}
	return n
}

// Join contacts the given agents ("host", "host:port", DNS names resolving
// to several agents) and returns how many it reached. The user events the
// agents it reaches know of are taken as seen: a joining member does not
// replay them.
func (p *Pool) Join(addrs []string) (int, error) {
	var targets []string
	for _, a := range addrs {
		targets = append(targets, withPort(a, p.cfg.BindPort))
	}
	p.joinStarted()
	n, err := p.ml.Join(targets)
	p.joinEnded()
	if err != nil && n == 0 && p.keys.encrypted() {
		err = fmt.Errorf("%w (if the other agents run, check that every agent has the same encrypt key)", err)
	}
	return n, err
}

// withPort adds the default gossip port to an address that has none.
func withPort(addr string, port int) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	if ip := net.ParseIP(addr); ip != nil && ip.To4() == nil {
		return net.JoinHostPort(addr, strconv.Itoa(port))
	}
	return addr + ":" + strconv.Itoa(port)
}

// SetTags replaces this node's tags and tells the pool.
func (p *Pool) SetTags(tags map[string]string) error {
	p.mu.Lock()
	p.tags = copyTags(tags)
	p.mu.Unlock()
	return p.ml.UpdateNode(5 * time.Second)
}

// Shutdown stops gossip without leaving (others will see a failure).
func (p *Pool) Shutdown() {
	p.stopOnce.Do(func() {
		close(p.stopCh)
		p.ml.Shutdown()
	})
	p.wg.Wait()
}

// ForceLeave marks a failed member as departed, here and, through gossip,
// everywhere; with prune it is forgotten at once.
func (p *Pool) ForceLeave(name string, prune bool) error {
	p.mu.Lock()
	m, ok := p.members[name]
	var status structs.MemberStatus
	if ok {
		status = m.Status
	}
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("no member named %q", name)
	}
	if status == structs.MemberAlive {
		return fmt.Errorf("member %q is alive; it can only leave by itself", name)
	}
	p.applyForceLeave(name, prune)
	msg, _ := json.Marshal(userMsg{Kind: "force-leave", Node: name, Prune: prune})
	p.queue.QueueBroadcast(&broadcast{name: "force-leave:" + name, msg: append([]byte{msgUser}, msg...)})
	return nil
}

func (p *Pool) applyForceLeave(name string, prune bool) {
	p.mu.Lock()
	m, ok := p.members[name]
	changed := false
	if ok && m.Status != structs.MemberAlive {
		if prune {
			delete(p.members, name)
		} else if m.Status != structs.MemberLeft {
			m.Status, m.since = structs.MemberLeft, time.Now()
		}
		changed = true
	}
	p.mu.Unlock()
	if changed {
		p.logger.Info("member forced to leave", "member", name, "prune", prune)
		p.notify()
	}
}

// maintain reaps members past their timeouts and tries to reach failed
// ones again, so a partition or a restarted node heals without help.
func (p *Pool) maintain() {
	defer p.wg.Done()
	reconnect := time.NewTicker(10 * time.Second)
	defer reconnect.Stop()
	reap := time.NewTicker(15 * time.Second)
	defer reap.Stop()
	for {
		select {
		case <-p.stopCh:
			return
		case <-reap.C:
			p.reap()
			p.revive()
		case <-reconnect.C:
			p.reconnect()
		}
	}
}

func (p *Pool) reap() {
	now := time.Now()
	changed := false
	p.mu.Lock()
	for name, m := range p.members {
		if (m.Status == structs.MemberFailed && now.Sub(m.since) > p.cfg.ReconnectTimeout) ||
			(m.Status == structs.MemberLeft && now.Sub(m.since) > p.cfg.LeftTimeout) {
			delete(p.members, name)
			changed = true
		}
	}
	p.mu.Unlock()
	if changed {
		p.notify()
	}
}

func (p *Pool) reconnect() {
	p.mu.Lock()
	var failed []structs.Member // copies: update rewrites members under p.mu
	for _, m := range p.members {
		if m.Status == structs.MemberFailed {
			failed = append(failed, m.Member)
		}
	}
	p.mu.Unlock()
	if len(failed) == 0 {
		return
	}
	m := failed[rand.IntN(len(failed))]
	addr := net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port)))
	if _, err := p.ml.Join([]string{addr}); err == nil {
		p.logger.Info("reconnected to a failed member", "member", m.Name)
	}
}

func copyTags(t map[string]string) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

// logWriter sends memberlist's log lines to the agent's logger until the
// pool shuts down; memberlist's goroutines may still write while they wind
// down, after the agent's logger is gone.
type logWriter struct {
	logger hclog.Logger
	stop   <-chan struct{}
}

func (w *logWriter) Write(b []byte) (int, error) {
	select {
	case <-w.stop:
		return len(b), nil
	default:
	}
	line := string(b)
	for len(line) > 0 && (line[len(line)-1] == '\n') {
		line = line[:len(line)-1]
	}
	switch {
	case containsAny(line, "[ERR]"):
		w.logger.Error(stripLevel(line))
	case containsAny(line, "[WARN]"):
		w.logger.Warn(stripLevel(line))
	default:
		w.logger.Debug(stripLevel(line))
	}
	return len(b), nil
}

var _ io.Writer = (*logWriter)(nil)
