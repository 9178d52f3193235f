package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// leaveTimeout bounds each step of a graceful leave: the servers'
// acknowledgement that the node is out of the catalog, and the spreading
// of the news through gossip.
const leaveTimeout = 5 * time.Second

// Leave leaves the cluster gracefully, then stops the agent. A client
// first stops pushing to the catalog and has a server take its node out of
// it, retrying until the removal is committed; then every agent is told,
// and lists the node as "left", not "failed". An error says which part did
// not complete.
func (d *Daemon) Leave() error {
	if d.Gossip == nil {
		go d.Shutdown()
		return nil
	}
	os.MkdirAll(filepath.Dir(d.leftMarker()), 0o700)
	os.WriteFile(d.leftMarker(), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600)
	d.Logger.Info("leaving the cluster")
	d.Gossip.AnnounceLeave()
	var catalogErr error
	if !d.Config().Server && d.Agent != nil {
		d.Agent.Shutdown() // no push to the catalog can put the node back
		catalogErr = d.leaveCatalog()
	}
	err := d.Gossip.Leave(leaveTimeout)
	go d.Shutdown()
	if catalogErr != nil {
		return catalogErr
	}
	if err != nil {
		return fmt.Errorf("left, but the news may not have reached every agent: %w", err)
	}
	return nil
}

// leaveCatalog asks the servers to take this node out of the catalog and
// waits, retrying, up to leaveTimeout for them to confirm. A refusal (the
// request or the token was refused) is final and returned at once.
func (d *Daemon) leaveCatalog() error {
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	args := &structs.DeregisterRequest{Datacenter: d.Config().Datacenter, Node: d.node.Node,
		WriteRequest: structs.WriteRequest{Token: d.Agent.Tokens().AgentToken()}}
	backoff := 100 * time.Millisecond
	for {
		err := d.Agent.Backend().NodeLeave(ctx, args)
		if err == nil {
			d.Logger.Info("the servers removed this node from the catalog")
			return nil
		}
		var refused *structs.InputError
		if errors.As(err, &refused) || errors.Is(err, structs.ErrPermissionDenied) || errors.Is(err, structs.ErrACLNotFound) {
			return fmt.Errorf("left the cluster, but the servers refused to remove this node from the catalog (%w); the leader removes it once gossip tells it the node left", err)
		}
		if ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// The call under way may have reached a server; only its
				// answer was missing.
				err = fmt.Errorf("no server answered within %v", leaveTimeout)
			}
			return fmt.Errorf("left the cluster, but no server confirmed removing this node from the catalog (%w); the leader removes it once gossip tells it the node left", err)
		}
		d.Logger.Warn("asking the servers to remove this node from the catalog failed; retrying", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}
