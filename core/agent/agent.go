// Package agent is the local agent: the services and checks registered on
// this node (from the HTTP API or config files) are its own state, its check
// monitors update them, and anti-entropy keeps the catalog equal to them, so
// that what the agent deregistered never comes back and what it owns is
// restored if the catalog loses it.
package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/checks"
	"github.com/beacon-sd/beacon/core/structs"
)

// Sources of a registration.
const (
	SourceAPI    = "api"    // HTTP API: persisted in the data dir
	SourceConfig = "config" // config files: re-read on reload
)

// ErrScriptsDisabled is returned for script or docker checks when the agent
// does not allow them from the registration's source.
var ErrScriptsDisabled = errors.New("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true")

// Config is what the agent needs to run.
type Config struct {
	Node                    structs.Node
	Server                  bool
	EnableScriptChecks      bool
	EnableLocalScriptChecks bool
	// DataDir keeps API registrations across restarts; empty keeps nothing.
	DataDir string
	// SyncInterval is the period of full anti-entropy (default 60s).
	SyncInterval time.Duration
	// ReapInterval is how often services whose checks have been critical
	// longer than their deregister_critical_service_after are removed
	// (default 15s).
	ReapInterval time.Duration
	// Tokens are the agent's ACL tokens; none when nil.
	Tokens *Tokens
	Logger hclog.Logger
}

// Agent is the local agent.
type Agent struct {
	cfg     Config
	logger  hclog.Logger
	backend Backend

	mu         sync.Mutex
	services   map[string]*localService
	checks     map[string]*localCheck
	runners    map[string]checks.Runner
	ttls       map[string]*checks.TTL
	nodeInSync bool
	rev        uint64

	// syncMu makes pushes to the catalog one at a time.
	syncMu sync.Mutex

	// The registrations to save (under mu): the encoded file and its
	// generation. persistMu orders the writes; saved is the generation
	// last written.
	toSave    []byte
	saveGen   uint64
	persistMu sync.Mutex
	saved     uint64

	now        func() time.Time
	syncCh     chan struct{}
	shutdownCh chan struct{}
	shutdown   sync.Once
	wg         sync.WaitGroup
	// lifetime ends at Shutdown, and with it every call to the catalog
	// under way: a push waiting on servers that do not answer does not
	// hold up a leave.
	lifetime    context.Context
	endLifetime context.CancelFunc
}

type localService struct {
	svc     *structs.NodeService
	token   string
	source  string
	inSync  bool
	deleted bool
	rev     uint64
}

type localCheck struct {
	check         *structs.HealthCheck
	def           *structs.CheckDefinition
	token         string
	source        string
	inSync        bool
	deleted       bool
	rev           uint64
	criticalSince time.Time // zero unless critical
}

// New creates an agent; Start begins anti-entropy.
func New(cfg Config, backend Backend) (*Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = 60 * time.Second
	}
	if cfg.ReapInterval <= 0 {
		cfg.ReapInterval = 15 * time.Second
	}
	if cfg.Tokens == nil {
		cfg.Tokens, _ = NewTokens(nil, "")
	}
	if cfg.Node.Node == "" || cfg.Node.Address == "" {
		return nil, fmt.Errorf("agent needs a node name and address")
	}
	a := &Agent{
		cfg:        cfg,
		logger:     cfg.Logger.Named("agent"),
		backend:    backend,
		services:   map[string]*localService{},
		checks:     map[string]*localCheck{},
		runners:    map[string]checks.Runner{},
		ttls:       map[string]*checks.TTL{},
		now:        time.Now,
		syncCh:     make(chan struct{}, 1),
		shutdownCh: make(chan struct{}),
	}
	a.lifetime, a.endLifetime = context.WithCancel(context.Background())
	if err := a.loadPersisted(); err != nil {
		return nil, err
	}
	return a, nil
}

// Start runs anti-entropy and the critical-service reaper until Shutdown.
func (a *Agent) Start() {
	a.wg.Add(2)
	go a.syncLoop()
	go a.reapLoop()
}

// Shutdown stops check monitors and anti-entropy, abandons any call to
// the catalog under way, and returns once no push to the catalog is under
// way (none starts after it).
func (a *Agent) Shutdown() {
	a.shutdown.Do(func() {
		close(a.shutdownCh)
		a.endLifetime()
		a.mu.Lock()
		for id, r := range a.runners {
			r.Stop()
			delete(a.runners, id)
		}
		a.mu.Unlock()
	})
	a.wg.Wait()
	a.syncMu.Lock()
	a.syncMu.Unlock()
	a.Persisted()
}

// Backend is the catalog the agent talks to.
func (a *Agent) Backend() Backend { return a.backend }

// Tokens are the agent's ACL tokens.
func (a *Agent) Tokens() *Tokens { return a.cfg.Tokens }

// Node is the agent's own node.
func (a *Agent) Node() structs.Node { return a.cfg.Node }

// IsServer reports whether the agent runs a server.
func (a *Agent) IsServer() bool { return a.cfg.Server }

// triggerSync asks anti-entropy to push local changes soon.
func (a *Agent) triggerSync() {
	select {
	case a.syncCh <- struct{}{}:
	default:
	}
}

// nextRev numbers local changes so a sync only marks in-sync what it sent.
func (a *Agent) nextRev() uint64 {
	a.rev++
	return a.rev
}

// scriptsAllowed reports whether a check of this type may run when it came
// from source.
func (a *Agent) scriptsAllowed(def *structs.CheckDefinition, source string) error {
	t := def.Type()
	if t != structs.CheckTypeScript && t != structs.CheckTypeDocker {
		return nil
	}
	if a.cfg.EnableScriptChecks || (a.cfg.EnableLocalScriptChecks && source == SourceConfig) {
		return nil
	}
	return ErrScriptsDisabled
}
