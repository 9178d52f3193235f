package registrator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/registrator/mapping"
	"github.com/beacon-sd/beacon/registrator/registry"
	"github.com/beacon-sd/beacon/registrator/service"
)

// Registrator keeps one registry equal to one Docker engine's containers.
type Registrator struct {
	cfg    Config
	log    hclog.Logger
	docker *client.Client
	reg    registry.Registry
	opts   mapping.Options // Hostname is set once the engine answered
	// ctx is Run's: workers live as long as it.
	ctx context.Context

	mu         sync.Mutex
	workers    map[string]*worker       // container ID → its running worker
	containers map[string]*record       // container ID → what is registered for it
	created    map[string]*createdEntry // container ID → its settings, between create and start
	wg         sync.WaitGroup

	reconcileMu sync.Mutex
}

// record is what the registrator knows of one container's services.
type record struct {
	// registered are the services the registry holds for the container,
	// as written.
	registered map[string]*service.Service
	// wanted are the services the container's last state asked for.
	wanted map[string]*service.Service
	// report is the last set of problems and notes logged, so a resync
	// does not log them again.
	report string
}

// New checks the configuration and prepares the Docker client and the
// registry; nothing is contacted until Run.
func New(cfg Config) (*Registrator, error) {
	if err := cfg.finalize(); err != nil {
		return nil, err
	}
	reg, err := registry.New(cfg.RegistryURI, registry.Options{TTL: cfg.TTL, HealthTTL: 3 * cfg.HealthRefresh})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithHost(cfg.dockerHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: docker host %q: %v", ErrConfig, cfg.dockerHost(), err)
	}
	return &Registrator{
		cfg: cfg, log: cfg.Logger, docker: dc, reg: reg,
		opts: mapping.Options{
			Internal: cfg.Internal, HostIP: cfg.HostIP, Tags: cfg.Tags, Explicit: cfg.Explicit,
			UseIPFromLabel: cfg.UseIPFromLabel, RequireLabel: cfg.RequireLabel,
		},
		workers:    map[string]*worker{},
		containers: map[string]*record{},
		created:    map[string]*createdEntry{},
	}, nil
}

// Run connects to the engine and the registry (trying -retry-attempts
// more times, -retry-interval apart, when they do not answer), then keeps
// the registry in step until ctx ends. Services stay registered when it
// returns: a registrator that restarts finds them and keeps them.
func (r *Registrator) Run(ctx context.Context) error {
	defer r.docker.Close()
	r.ctx = ctx
	if err := r.connect(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting
		}
		return err
	}
	r.log.Info("started", "docker", r.docker.DaemonHost(), "api_version", r.docker.ClientVersion(),
		"registry", r.reg.String(), "host", r.opts.Hostname, "internal", r.cfg.Internal,
		"deregister", r.cfg.Deregister, "cleanup", r.cfg.Cleanup, "resync", r.cfg.Resync, "ttl", r.cfg.TTL)

	var loops sync.WaitGroup
	loops.Add(2)
	go func() { defer loops.Done(); r.watch(ctx) }()
	go func() { defer loops.Done(); r.tick(ctx) }()
	loops.Wait()
	r.wg.Wait()
	return nil
}

// connect waits for the engine and the registry to answer and learns the
// Docker host's name.
func (r *Registrator) connect(ctx context.Context) error {
	err := r.retry(ctx, "docker engine at "+r.docker.DaemonHost(), func() error {
		info, err := r.docker.Info(ctx)
		if err != nil {
			return err
		}
		r.opts.Hostname = r.cfg.Hostname
		if r.opts.Hostname == "" {
			r.opts.Hostname = info.Name
		}
		return nil
	})
	if err != nil {
		return err
	}
	if strings.TrimSpace(r.opts.Hostname) == "" {
		return fmt.Errorf("%w: the docker engine reports no host name; set one", ErrConfig)
	}
	return r.retry(ctx, r.reg.String(), func() error { return r.reg.Ping(ctx) })
}

// retry runs f once and then up to -retry-attempts more times.
func (r *Registrator) retry(ctx context.Context, what string, f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if r.cfg.RetryAttempts != -1 && attempt >= r.cfg.RetryAttempts {
			return fmt.Errorf("%s does not answer: %w", what, err)
		}
		r.log.Warn("not answering, will retry", "what", what, "error", err, "in", r.cfg.RetryInterval)
		if !sleep(ctx, r.cfg.RetryInterval) {
			return ctx.Err()
		}
	}
}

// tick runs the periodic resync and the TTL and health refresh.
func (r *Registrator) tick(ctx context.Context) {
	refresh := r.cfg.HealthRefresh
	if r.cfg.TTL > 0 && r.cfg.TTLRefresh < refresh {
		refresh = r.cfg.TTLRefresh
	}
	refreshT := time.NewTicker(refresh)
	defer refreshT.Stop()
	var resync <-chan time.Time
	if r.cfg.Resync > 0 {
		t := time.NewTicker(r.cfg.Resync)
		defer t.Stop()
		resync = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-refreshT.C:
			r.refreshAll(ctx)
		case <-resync:
			if err := r.reconcile(ctx, "resync"); err != nil && ctx.Err() == nil {
				r.log.Warn("resync incomplete", "error", err)
			}
		}
	}
}

// refreshAll re-reports TTL heartbeats and Docker health states. A
// service the registry lost is registered again.
func (r *Registrator) refreshAll(ctx context.Context) {
	type item struct {
		container string
		svc       *service.Service
	}
	var todo []item
	r.mu.Lock()
	for id, rec := range r.containers {
		for _, s := range rec.registered {
			if r.reg.NeedsRefresh(s) {
				todo = append(todo, item{id, s})
			}
		}
	}
	r.mu.Unlock()
	for _, it := range todo {
		err := r.reg.Refresh(ctx, it.svc)
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, registry.ErrNotRegistered):
			r.log.Warn("the registry lost a service; registering it again", "service", it.svc.ID)
			r.forget(it.container, it.svc.ID)
			r.enqueue(it.container, hint{action: "refresh"})
		default:
			r.log.Warn("refresh failed", "service", it.svc.ID, "error", err)
		}
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
