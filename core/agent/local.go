package agent

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/core/checks"
	"github.com/beacon-sd/beacon/core/structs"
)

// AddService registers (or replaces) a service and its checks on this agent.
func (a *Agent) AddService(def *structs.ServiceDefinition, source string) error {
	if err := def.Validate(); err != nil {
		return err
	}
	ns := def.NodeService()
	defs := def.AllChecks()
	hcs := make([]*structs.HealthCheck, len(defs))
	for i, cd := range defs {
		if err := a.scriptsAllowed(cd, source); err != nil {
			return err
		}
		if err := checks.Validate(cd); err != nil {
			return structs.BadInput("%v", err)
		}
		if cd.CheckID == "" {
			cd.CheckID = "service:" + ns.ID
			if len(defs) > 1 {
				cd.CheckID = fmt.Sprintf("service:%s:%d", ns.ID, i+1)
			}
		}
		if cd.Name == "" {
			cd.Name = fmt.Sprintf("Service '%s' check", ns.Service)
		}
		cd.ServiceID = ns.ID
		hcs[i] = a.newHealthCheck(cd, ns)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	keep := map[string]bool{}
	for _, hc := range hcs {
		keep[hc.CheckID] = true
	}
	// Checks the service had before and no longer defines go with the old
	// definition.
	for id, lc := range a.checks {
		if !lc.deleted && lc.check.ServiceID == ns.ID && !keep[id] && !isMaintCheck(id) {
			a.removeCheckLocked(id)
		}
	}
	a.services[ns.ID] = &localService{svc: ns, token: def.Token, source: source, rev: a.nextRev()}
	for i, hc := range hcs {
		a.addCheckLocked(hc, defs[i], def.Token, source)
	}
	a.persistLocked()
	a.triggerSync()
	return nil
}

// newHealthCheck builds a check's initial state from its definition.
func (a *Agent) newHealthCheck(cd *structs.CheckDefinition, svc *structs.NodeService) *structs.HealthCheck {
	hc := &structs.HealthCheck{
		Node:       a.cfg.Node.Node,
		CheckID:    cd.CheckID,
		Name:       cd.Name,
		Status:     cd.Status,
		Notes:      cd.Notes,
		Type:       cd.Type(),
		Definition: cd.Definition(),
	}
	if hc.Status == "" {
		hc.Status = structs.HealthCritical
	}
	if svc != nil {
		hc.ServiceID, hc.ServiceName, hc.ServiceTags = svc.ID, svc.Service, svc.Tags
	}
	return hc
}

// addCheckLocked stores a check and starts its runner. A check that
// already existed keeps its status and output across re-registration.
func (a *Agent) addCheckLocked(hc *structs.HealthCheck, def *structs.CheckDefinition, token, source string) {
	if old, ok := a.checks[hc.CheckID]; ok && !old.deleted && old.check.Type == hc.Type {
		hc.Status, hc.Output = old.check.Status, old.check.Output
	}
	a.stopRunnerLocked(hc.CheckID)
	lc := &localCheck{check: hc, def: def, token: token, source: source, rev: a.nextRev()}
	if hc.Status == structs.HealthCritical {
		lc.criticalSince = a.now()
	}
	a.checks[hc.CheckID] = lc
	if def == nil {
		return // maintenance checks have no runner
	}
	r, ttl, err := checks.New(hc.CheckID, def, hc.Status, checks.Options{
		Notifier: &checkNotifier{a: a, lc: lc}, Catalog: a.backend, LocalNode: a.cfg.Node.Node, Logger: a.logger,
	})
	if err != nil {
		a.logger.Error("check cannot run", "check", hc.CheckID, "error", err)
		return
	}
	r.Start()
	a.runners[hc.CheckID] = r
	if ttl != nil {
		a.ttls[hc.CheckID] = ttl
	}
}

func (a *Agent) stopRunnerLocked(id string) {
	if r, ok := a.runners[id]; ok {
		r.Stop()
		delete(a.runners, id)
		delete(a.ttls, id)
	}
}

// checkNotifier takes the results of one check's runner; results of a
// runner whose check was replaced or removed are dropped.
type checkNotifier struct {
	a  *Agent
	lc *localCheck
}

func (n *checkNotifier) UpdateCheck(id, status, output string) { n.a.updateCheck(n.lc, status, output) }

// RemoveService deregisters a service and its checks.
func (a *Agent) RemoveService(id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ls, ok := a.services[id]
	if !ok || ls.deleted {
		return fmt.Errorf("%w %q", structs.ErrServiceNotFound, id)
	}
	ls.deleted, ls.inSync, ls.rev = true, false, a.nextRev()
	for cid, lc := range a.checks {
		if !lc.deleted && lc.check.ServiceID == id {
			a.removeCheckLocked(cid)
		}
	}
	a.persistLocked()
	a.triggerSync()
	return nil
}

// AddCheck registers a standalone check, on the node or on a local service.
func (a *Agent) AddCheck(def *structs.CheckDefinition, source string) error {
	if def.Name == "" {
		return fmt.Errorf("check needs a Name")
	}
	if def.CheckID == "" {
		def.CheckID = def.Name
	}
	if err := def.Validate(); err != nil {
		return err
	}
	if err := a.scriptsAllowed(def, source); err != nil {
		return err
	}
	if err := checks.Validate(def); err != nil {
		return structs.BadInput("%v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var svc *structs.NodeService
	if def.ServiceID != "" {
		ls, ok := a.services[def.ServiceID]
		if !ok || ls.deleted {
			return fmt.Errorf("ServiceID %q does not exist on this agent", def.ServiceID)
		}
		svc = ls.svc
	}
	a.addCheckLocked(a.newHealthCheck(def, svc), def, def.Token, source)
	a.persistLocked()
	a.triggerSync()
	return nil
}

// RemoveCheck deregisters a check.
func (a *Agent) RemoveCheck(id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	lc, ok := a.checks[id]
	if !ok || lc.deleted {
		return fmt.Errorf("%w %q", structs.ErrCheckNotFound, id)
	}
	a.removeCheckLocked(id)
	a.persistLocked()
	a.triggerSync()
	return nil
}

func (a *Agent) removeCheckLocked(id string) {
	lc := a.checks[id]
	lc.deleted, lc.inSync, lc.rev = true, false, a.nextRev()
	a.stopRunnerLocked(id)
}

// UpdateTTL records an application's report for a TTL check.
func (a *Agent) UpdateTTL(id, status, output string) error {
	if !structs.ValidStatus(status) {
		return fmt.Errorf("invalid status %q", status)
	}
	a.mu.Lock()
	ttl, ok := a.ttls[id]
	a.mu.Unlock()
	if !ok {
		if a.hasCheck(id) {
			return fmt.Errorf("CheckID %q does not have associated TTL", id)
		}
		return fmt.Errorf("%w %q", structs.ErrCheckNotFound, id)
	}
	ttl.SetStatus(status, output)
	return nil
}

func (a *Agent) hasCheck(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	lc, ok := a.checks[id]
	return ok && !lc.deleted
}

// updateCheck sets a check's status and output.
func (a *Agent) updateCheck(lc *localCheck, status, output string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur, ok := a.checks[lc.check.CheckID]; !ok || cur != lc || lc.deleted {
		return
	}
	if lc.check.Status == status && lc.check.Output == output {
		return
	}
	if status == structs.HealthCritical && lc.check.Status != structs.HealthCritical {
		lc.criticalSince = a.now()
	} else if status != structs.HealthCritical {
		lc.criticalSince = time.Time{}
	}
	hc := *lc.check
	hc.Status, hc.Output = status, output
	lc.check, lc.inSync, lc.rev = &hc, false, a.nextRev()
	a.triggerSync()
}

// Services returns copies of the local services.
func (a *Agent) Services() []*structs.NodeService {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*structs.NodeService, 0, len(a.services))
	for _, ls := range a.services {
		if !ls.deleted {
			cp := *ls.svc
			out = append(out, &cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Service returns one local service, or nil.
func (a *Agent) Service(id string) *structs.NodeService {
	a.mu.Lock()
	defer a.mu.Unlock()
	ls, ok := a.services[id]
	if !ok || ls.deleted {
		return nil
	}
	cp := *ls.svc
	return &cp
}

// Checks returns copies of the local checks.
func (a *Agent) Checks() []*structs.HealthCheck {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*structs.HealthCheck, 0, len(a.checks))
	for _, lc := range a.checks {
		if !lc.deleted {
			cp := *lc.check
			out = append(out, &cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CheckID < out[j].CheckID })
	return out
}

// ReloadDefinitions replaces the services and checks that came from config
// files with a new set, leaving API registrations alone.
func (a *Agent) ReloadDefinitions(svcs []*structs.ServiceDefinition, chks []*structs.CheckDefinition) error {
	for _, s := range svcs {
		if err := s.Validate(); err != nil {
			return err
		}
	}
	want := map[string]bool{}
	for _, s := range svcs {
		want[s.NodeService().ID] = true
	}
	wantChecks := map[string]bool{}
	for _, c := range chks {
		id := c.CheckID
		if id == "" {
			id = c.Name
		}
		wantChecks[id] = true
	}
	a.mu.Lock()
	var stale []string
	for id, ls := range a.services {
		if !ls.deleted && ls.source == SourceConfig && !want[id] {
			stale = append(stale, id)
		}
	}
	var staleChecks []string
	for id, lc := range a.checks {
		if !lc.deleted && lc.source == SourceConfig && lc.check.ServiceID == "" && !wantChecks[id] {
			staleChecks = append(staleChecks, id)
		}
	}
	a.mu.Unlock()
	for _, id := range stale {
		_ = a.RemoveService(id)
	}
	for _, id := range staleChecks {
		_ = a.RemoveCheck(id)
	}
	var errs []string
	for _, s := range svcs {
		if err := a.AddService(s, SourceConfig); err != nil {
			errs = append(errs, fmt.Sprintf("service %q: %v", s.Name, err))
		}
	}
	for _, c := range chks {
		if err := a.AddCheck(c, SourceConfig); err != nil {
			errs = append(errs, fmt.Sprintf("check %q: %v", c.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
