package checks

import (
	"context"
	"fmt"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// CatalogReader is what an alias check reads the aliased node and service
// from.
type CatalogReader interface {
	HealthNodeChecks(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedHealthChecks) error
	CatalogNodeServices(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedNodeServices) error
}

// Alias mirrors the health of another service (or node): it watches the
// catalog with blocking queries and reports the worst state among the
// node's checks and the aliased service's own.
type Alias struct {
	CheckID   string
	Node      string
	ServiceID string
	Catalog   CatalogReader
	Notifier  Notifier

	cancel context.CancelFunc
	done   chan struct{}
}

// Start begins watching.
func (a *Alias) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	go a.run(ctx)
}

// Stop ends the watch without waiting for it.
func (a *Alias) Stop() {
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *Alias) run(ctx context.Context) {
	defer close(a.done)
	var index uint64
	backoff := time.Second
	for ctx.Err() == nil {
		var checks structs.IndexedHealthChecks
		err := a.Catalog.HealthNodeChecks(ctx, &structs.NodeSpecificRequest{Node: a.Node,
			QueryOptions: structs.QueryOptions{MinIndex: index, MaxWait: time.Minute}}, &checks)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.Notifier.UpdateCheck(a.CheckID, structs.HealthCritical, fmt.Sprintf("Failed to read the aliased checks: %v", err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		if checks.Index < index {
			index = 0
		} else {
			index = checks.Index
		}
		status, output := a.evaluate(ctx, checks.HealthChecks)
		a.Notifier.UpdateCheck(a.CheckID, status, output)
	}
}

func (a *Alias) evaluate(ctx context.Context, checks []*structs.HealthCheck) (string, string) {
	if a.ServiceID != "" {
		var svcs structs.IndexedNodeServices
		if err := a.Catalog.CatalogNodeServices(ctx, &structs.NodeSpecificRequest{Node: a.Node}, &svcs); err != nil {
			return structs.HealthCritical, fmt.Sprintf("Failed to read the aliased service: %v", err)
		}
		found := false
		for _, s := range svcs.Services {
			found = found || s.ID == a.ServiceID
		}
		if !found {
			return structs.HealthCritical, fmt.Sprintf("Service %q is not registered on node %q", a.ServiceID, a.Node)
		}
	} else if len(checks) == 0 {
		return structs.HealthCritical, fmt.Sprintf("Node %q has no checks or does not exist", a.Node)
	}
	status, output := structs.HealthPassing, "All checks passing."
	for _, c := range checks {
		if c.CheckID == a.CheckID || (c.ServiceID != "" && c.ServiceID != a.ServiceID) {
			continue
		}
		switch {
		case c.Status == structs.HealthCritical:
			return structs.HealthCritical, fmt.Sprintf("Aliased check %q is critical", c.Name)
		case c.Status == structs.HealthWarning && status == structs.HealthPassing:
			status, output = structs.HealthWarning, fmt.Sprintf("Aliased check %q is warning", c.Name)
		}
	}
	return status, output
}
