package registrator

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/beacon-sd/beacon/registrator/mapping"
	"github.com/beacon-sd/beacon/registrator/registry"
)

// reconcile brings the registry in step with every container. It runs
// whenever the event stream is (re)established and on each -resync:
//   - services the registry lost, or holds differently, are written again;
//   - every running container, and every container with registrations,
//     gets a pass of its worker, so missed starts and stops are caught up;
//   - with -cleanup, services of this host that no container offers any
//     more (left by a registrator that crashed, say) are removed.
func (r *Registrator) reconcile(ctx context.Context, why string) error {
	r.reconcileMu.Lock()
	defer r.reconcileMu.Unlock()
	start := time.Now()

	// The registry is listed before the containers: a service registered
	// after this listing is not in it, so it cannot be taken for an orphan.
	entries, listErr := r.reg.Services(ctx, r.opts.Hostname)
	containers, err := r.docker.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}

	lost := 0
	if listErr == nil {
		stored := make(map[string]string, len(entries))
		for _, e := range entries {
			stored[e.Service.ID] = e.Digest
		}
		r.mu.Lock()
		for _, rec := range r.containers {
			for sid, s := range rec.registered {
				if stored[sid] != r.reg.Digest(s) {
					delete(rec.registered, sid)
					lost++
				}
			}
		}
		r.mu.Unlock()
	}

	ids := map[string]bool{}
	for _, c := range containers {
		if c.State == container.StateRunning {
			ids[c.ID] = true
		}
	}
	r.mu.Lock()
	for id := range r.containers {
		ids[id] = true
	}
	r.mu.Unlock()
	dones := make([]<-chan struct{}, 0, len(ids))
	for id := range ids {
		dones = append(dones, r.enqueue(id, hint{action: why}))
	}
	for _, d := range dones {
		select {
		case <-d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if listErr != nil {
		return listErr
	}
	removed, left := r.orphans(ctx, entries)
	r.log.Info("reconciled", "why", why, "containers", len(ids), "rewritten", lost,
		"orphans_removed", removed, "orphans_left", left, "took", time.Since(start).Round(time.Millisecond))
	if left > 0 {
		r.log.Info("services of this host that no running container offers were left in place; -cleanup removes them", "count", left)
	}
	return nil
}

// orphans handles the listed services that no container of this
// registrator claims: with -cleanup they are removed, unless their
// container turns out to be running and offering them.
func (r *Registrator) orphans(ctx context.Context, entries []registry.Entry) (removed, left int) {
	for _, e := range entries {
		s := e.Service
		if r.claimedByOther("", s.ID) || r.stillOffered(ctx, s.ContainerID, s.ID) {
			continue
		}
		if !r.cfg.Cleanup {
			r.log.Debug("orphan left in place", "service", s.ID)
			left++
			continue
		}
		if err := r.reg.Deregister(ctx, s); err != nil {
			r.log.Warn("cleanup failed", "service", s.ID, "error", err)
			continue
		}
		r.log.Info("deregistered", "service", s.Name, "id", s.ID, "reason", "cleanup: no running container offers it")
		removed++
	}
	return removed, left
}

// stillOffered asks Docker whether a container is running and offers the
// service: one that started after the reconcile listed containers.
func (r *Registrator) stillOffered(ctx context.Context, containerID, sid string) bool {
	if containerID == "" {
		return false
	}
	info, err := r.docker.ContainerInspect(ctx, containerID)
	if err != nil {
		// Unknown: keep it unless the container is gone for sure.
		return !client.IsErrNotFound(err)
	}
	if info.State == nil || !info.State.Running || info.State.Paused {
		return false
	}
	for _, s := range mapping.Map(&info, r.opts).Services {
		if s.ID == sid {
			return true
		}
	}
	return false
}
