package agent

import (
	"time"
)

// reapLoop removes services whose checks have been critical for longer
// than their deregister_critical_service_after.
func (a *Agent) reapLoop() {
	defer a.wg.Done()
	t := time.NewTicker(a.cfg.ReapInterval)
	defer t.Stop()
	for {
		select {
		case <-a.shutdownCh:
			return
		case <-t.C:
			a.reapCritical()
		}
	}
}

func (a *Agent) reapCritical() {
	now := a.now()
	a.mu.Lock()
	var doomed []string
	for _, lc := range a.checks {
		if lc.deleted || lc.def == nil || lc.check.ServiceID == "" || lc.criticalSince.IsZero() {
			continue
		}
		if after := lc.def.DeregisterCriticalServiceAfter.D(); after > 0 && now.Sub(lc.criticalSince) > after {
			doomed = append(doomed, lc.check.ServiceID)
		}
	}
	a.mu.Unlock()
	for _, id := range doomed {
		if err := a.RemoveService(id); err == nil {
			a.logger.Info("deregistered a service whose check stayed critical past deregister_critical_service_after", "service", id)
		}
	}
	if len(doomed) > 0 {
		a.SyncChanges()
	}
}
