package registrator

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/beacon-sd/beacon/registrator/mapping"
	"github.com/beacon-sd/beacon/registrator/registry"
	"github.com/beacon-sd/beacon/registrator/service"
)

// hint is the latest thing that happened to a container. A worker always
// acts on the container's present state, so hints coalesce: only the last
// one matters, and only "die" and "destroy" let it skip asking Docker.
type hint struct {
	action   string // the event ("start", "die", ...) or "sync"
	exitCode string // of a "die" event
}

// worker handles one container's changes, one at a time and in order;
// it exits when it has nothing left to do.
type worker struct {
	hint    hint
	dirty   bool
	waiters []chan struct{}
	wake    chan struct{}
}

// enqueue records that a container changed and makes sure its worker runs.
// The returned channel closes when a pass that saw this change is done.
func (r *Registrator) enqueue(id string, h hint) <-chan struct{} {
	done := make(chan struct{})
	r.mu.Lock()
	w, ok := r.workers[id]
	if !ok {
		w = &worker{wake: make(chan struct{}, 1)}
		r.workers[id] = w
		r.wg.Add(1)
		go r.work(r.ctx, id, w)
	}
	w.hint, w.dirty = h, true
	w.waiters = append(w.waiters, done)
	r.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return done
}

func (r *Registrator) work(ctx context.Context, id string, w *worker) {
	defer r.wg.Done()
	backoff := 100 * time.Millisecond
	failures := 0
	for {
		r.mu.Lock()
		if !w.dirty || ctx.Err() != nil {
			for _, c := range w.waiters {
				close(c)
			}
			delete(r.workers, id)
			r.mu.Unlock()
			return
		}
		h, waiters := w.hint, w.waiters
		w.dirty, w.waiters = false, nil
		r.mu.Unlock()
		select {
		case <-w.wake:
		default:
		}

		err := r.syncContainer(ctx, id, h)
		for _, c := range waiters {
			close(c)
		}
		if err == nil || ctx.Err() != nil {
			if failures > 0 && err == nil {
				r.log.Info("caught up after retrying", "container", short(id), "attempts", failures+1)
			}
			backoff, failures = 100*time.Millisecond, 0
			continue
		}
		// One warning per streak of failures; the retries themselves are
		// logged at debug level.
		if failures++; failures == 1 {
			r.log.Warn("will retry until it succeeds", "container", short(id), "error", err)
		} else {
			r.log.Debug("retry failed", "container", short(id), "error", err, "next_in", backoff)
		}
		r.mu.Lock()
		if !w.dirty {
			w.hint, w.dirty = h, true
		}
		r.mu.Unlock()
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-w.wake: // something new happened to the container: try now
		}
		t.Stop()
		if backoff *= 2; backoff > r.cfg.MaxBackoff {
			backoff = r.cfg.MaxBackoff
		}
	}
}

// syncContainer makes the registry hold what the container's present state
// asks for. It returns an error worth retrying.
func (r *Registrator) syncContainer(ctx context.Context, id string, h hint) error {
	want, keep, running, err := r.desired(ctx, id, h)
	if err != nil {
		return err
	}
	r.mu.Lock()
	rec := r.containers[id]
	if rec == nil {
		rec = &record{registered: map[string]*service.Service{}}
		r.containers[id] = rec
	}
	if keep {
		want = make(map[string]*service.Service, len(rec.registered))
		for sid, s := range rec.registered {
			want[sid] = s
		}
	}
	rec.wanted = want
	var gone, changed []*service.Service
	for sid, s := range rec.registered {
		if _, ok := want[sid]; !ok {
			gone = append(gone, s)
		}
	}
	for sid, s := range want {
		if old := rec.registered[sid]; old == nil || old.Fingerprint() != s.Fingerprint() || old.DockerHealth != s.DockerHealth {
			changed = append(changed, s)
		}
	}
	r.mu.Unlock()
	sort.Slice(gone, func(i, j int) bool { return gone[i].ID < gone[j].ID })
	sort.Slice(changed, func(i, j int) bool { return changed[i].ID < changed[j].ID })

	var retry error
	for _, s := range gone {
		if r.claimedByOther(id, s.ID) {
			// A container re-created under the same name registered the
			// same ID: it is that container's now.
			r.forget(id, s.ID)
			continue
		}
		err := r.reg.Deregister(ctx, s)
		if err != nil && !errors.Is(err, registry.ErrRejected) {
			retry = errors.Join(retry, err)
			continue
		}
		if err != nil {
			r.log.Error("deregistration refused", "service", s.ID, "container", s.ContainerName, "error", err)
		} else {
			r.log.Info("deregistered", "service", s.Name, "id", s.ID, "container", s.ContainerName, "reason", h.action)
		}
		r.forget(id, s.ID)
	}
	for _, s := range changed {
		if err := r.write(ctx, id, s); err != nil {
			retry = errors.Join(retry, err)
		}
	}
	r.mu.Lock()
	if !running && len(rec.registered) == 0 && len(rec.wanted) == 0 && r.containers[id] == rec {
		delete(r.containers, id)
	}
	r.mu.Unlock()
	return retry
}

// write registers a service, or only reports its new health state when
// nothing else changed.
func (r *Registrator) write(ctx context.Context, id string, s *service.Service) error {
	var old *service.Service
	r.mu.Lock()
	if rec := r.containers[id]; rec != nil {
		old = rec.registered[s.ID]
	}
	r.mu.Unlock()
	var err error
	if old != nil && old.Fingerprint() == s.Fingerprint() {
		err = r.reg.Refresh(ctx, s)
		if errors.Is(err, registry.ErrNotRegistered) {
			old = nil // the registry lost it: write it whole
		}
	}
	if old == nil || old.Fingerprint() != s.Fingerprint() {
		err = r.reg.Register(ctx, s)
	}
	switch {
	case errors.Is(err, registry.ErrRejected):
		r.log.Error("registration refused; fix the container's settings", "service", s.ID, "container", s.ContainerName, "error", err)
		return nil
	case err != nil:
		return err
	}
	if old == nil || old.Fingerprint() != s.Fingerprint() {
		r.log.Info("registered", "service", s.Name, "id", s.ID, "address", orNode(s.IP), "port", s.Port, "container", s.ContainerName)
	} else {
		r.log.Info("health changed", "service", s.ID, "container", s.ContainerName, "docker_health", s.DockerHealth)
	}
	r.mu.Lock()
	if rec := r.containers[id]; rec != nil {
		rec.registered[s.ID] = s
	}
	r.mu.Unlock()
	return nil
}

// claimedByOther reports whether a container other than id has registered,
// or wants, the service ID sid.
func (r *Registrator) claimedByOther(id, sid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for cid, rec := range r.containers {
		if cid == id {
			continue
		}
		if _, ok := rec.registered[sid]; ok {
			return true
		}
		if _, ok := rec.wanted[sid]; ok {
			return true
		}
	}
	return false
}

func (r *Registrator) forget(id, sid string) {
	r.mu.Lock()
	if rec := r.containers[id]; rec != nil {
		delete(rec.registered, sid)
	}
	r.mu.Unlock()
}

// desired is what a container's state asks to be registered. keep means
// "leave what is registered": a container that failed under -deregister
// on-success. running reports a running container.
func (r *Registrator) desired(ctx context.Context, id string, h hint) (want map[string]*service.Service, keep, running bool, err error) {
	switch h.action {
	case "start":
		if info, ok := r.startedFromCreate(id); ok {
			r.log.Debug("registering the start from the container's creation", "container", short(id))
			return r.wanted(id, info), false, true, nil
		}
	case "destroy", "pause":
		return nil, false, false, nil
	case "stop":
		if r.cfg.Deregister == DeregisterAlways {
			return nil, false, false, nil
		}
	case "die":
		if r.cfg.Deregister == DeregisterAlways || h.exitCode == "0" {
			return nil, false, false, nil
		}
		if h.exitCode != "" {
			return nil, true, false, nil
		}
	}
	info, err := r.docker.ContainerInspect(ctx, id)
	switch {
	case client.IsErrNotFound(err):
		return nil, false, false, nil
	case err != nil:
		return nil, false, false, err
	}
	st := info.State
	switch {
	case st == nil:
		return nil, false, false, nil
	case st.Paused:
		return nil, false, false, nil
	case !st.Running || st.Restarting:
		if r.cfg.Deregister == DeregisterAlways || st.ExitCode == 0 {
			return nil, false, false, nil
		}
		return nil, true, false, nil
	}
	return r.wanted(id, &info), false, true, nil
}

// wanted is what a running container offers, its problems reported.
func (r *Registrator) wanted(id string, info *container.InspectResponse) map[string]*service.Service {
	res := mapping.Map(info, r.opts)
	r.report(id, strings.TrimPrefix(info.Name, "/"), res)
	want := make(map[string]*service.Service, len(res.Services))
	for _, s := range res.Services {
		want[s.ID] = s
	}
	return want
}

// report logs a container's problems and notes when they differ from the
// last ones logged for it.
func (r *Registrator) report(id, name string, res mapping.Result) {
	var b strings.Builder
	for _, p := range res.Problems {
		b.WriteString(p.String() + "\n")
	}
	for _, n := range res.Notes {
		b.WriteString(n + "\n")
	}
	r.mu.Lock()
	rec := r.containers[id]
	if rec == nil {
		rec = &record{registered: map[string]*service.Service{}}
		r.containers[id] = rec
	}
	same := rec.report == b.String()
	rec.report = b.String()
	r.mu.Unlock()
	if same {
		return
	}
	for _, p := range res.Problems {
		r.log.Error("bad service setting, skipped", "container", name, "key", p.Key, "problem", p.Reason)
	}
	for _, n := range res.Notes {
		r.log.Info(n, "container", name)
	}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func orNode(ip string) string {
	if ip == "" {
		return "(node address)"
	}
	return ip
}
