package registrator

import (
	"context"
	"net"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/beacon-sd/beacon/registrator/mapping"
)

// A container's "create" event comes well before its "start": `docker run`
// attaches and Docker sets up the container's network in between. The
// registrator inspects the container at "create" and keeps what Docker
// fixed then; when the start changes nothing that registration reads
// (mapping.AsStarted), the "start" is registered from it without waiting
// for Docker to answer another inspect.

// maxCreated bounds the containers created and not yet started that are
// remembered, and createdFor how long; past either, a start is inspected
// as usual.
const (
	maxCreated = 256
	createdFor = 30 * time.Second
)

// keepsCreated are the events that leave a created container's settings
// as they were. Every other event forgets them (rename, update, die,
// destroy, ...), and "start" uses them up.
var keepsCreated = map[string]bool{"create": true, "attach": true, "resize": true}

// createdEntry is what a created container's start is predicted to look
// like (mapping.AsStarted); started is nil until the inspect answered.
type createdEntry struct {
	at      time.Time
	started *container.InspectResponse
}

// noteEvent keeps the creation data of containers up to date with an
// event: a "create" starts an inspect of the new container, an event that
// may change the container's settings forgets what it found. The inspect
// runs beside the container's worker: Docker answers it only once a start
// under way is done, and the start's own pass must not wait for it.
func (r *Registrator) noteEvent(id, action string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case action == "create":
		now := time.Now()
		for cid, e := range r.created {
			if now.Sub(e.at) > createdFor {
				delete(r.created, cid)
			}
		}
		if len(r.created) < maxCreated && r.ctx.Err() == nil {
			r.created[id] = &createdEntry{at: now}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.inspectCreated(r.ctx, id)
			}()
		}
	case !keepsCreated[action] && action != "start":
		delete(r.created, id)
	}
}

// noteNetwork forgets the creation data of a container that joined or
// left a network, unless it is joining, as it starts, the one network it
// was created on.
func (r *Registrator) noteNetwork(id, action, network string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.created[id]
	if e == nil {
		return
	}
	if action == "connect" && e.started != nil && e.started.NetworkSettings != nil {
		if _, own := e.started.NetworkSettings.Networks[network]; own {
			return
		}
	}
	delete(r.created, id)
}

// forgetCreated drops every container's creation data: events may have
// been missed while the engine's event stream was down.
func (r *Registrator) forgetCreated() {
	r.mu.Lock()
	clear(r.created)
	r.mu.Unlock()
}

// inspectCreated reads a container that was just created and keeps what
// its start can be registered from, unless an event since its creation
// made that unsafe or the start came first. A failure costs nothing but
// the shortcut: the start is then inspected.
func (r *Registrator) inspectCreated(ctx context.Context, id string) {
	r.mu.Lock()
	e := r.created[id]
	r.mu.Unlock()
	if e == nil {
		return
	}
	info, err := r.docker.ContainerInspect(ctx, id)
	if err != nil {
		r.log.Debug("inspecting a created container failed; its start will be inspected", "container", short(id), "error", err)
		return
	}
	bindIP, publishes := r.publishing(ctx, &info)
	if !publishes {
		return
	}
	started, ok := mapping.AsStarted(&info, r.opts, bindIP)
	if !ok {
		return
	}
	r.mu.Lock()
	kept := r.created[id] == e
	if kept {
		e.started = started
	}
	r.mu.Unlock()
	if kept {
		r.log.Debug("created container read; its start needs no inspect", "container", short(id))
	}
}

// startedFromCreate is the container's state just after its start,
// predicted from its creation, and false when it must be inspected.
func (r *Registrator) startedFromCreate(id string) (*container.InspectResponse, bool) {
	r.mu.Lock()
	e := r.created[id]
	delete(r.created, id)
	r.mu.Unlock()
	if e == nil || e.started == nil || time.Since(e.at) > createdFor {
		return nil, false
	}
	return e.started, true
}

// hostBindingIPv4 is the bridge driver's option naming the address a port
// published without one is bound to.
const hostBindingIPv4 = "com.docker.network.bridge.host_binding_ipv4"

// publishing reports whether Docker publishes the created container's
// ports the ordinary way: on the host's network, or on one bridge network
// that is not internal (an internal network publishes nothing; other
// drivers, and containers on several networks, are left to an inspect).
// bindIP is then the address of ports published without one: the
// network's host_binding_ipv4 option (dockerd's --ip for the default
// bridge), else every IPv4 address.
func (r *Registrator) publishing(ctx context.Context, info *container.InspectResponse) (bindIP string, ok bool) {
	if info.HostConfig == nil {
		return "", false
	}
	mode := info.HostConfig.NetworkMode
	if mode.IsHost() {
		return "", true
	}
	if info.NetworkSettings != nil && len(info.NetworkSettings.Networks) > 1 {
		return "", false
	}
	name := ""
	switch {
	case mode.IsDefault() || mode.IsBridge():
		name = "bridge"
	case mode.IsUserDefined():
		name = mode.UserDefined()
	default:
		return "", false
	}
	nw, err := r.docker.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil || nw.Driver != "bridge" || nw.Internal {
		return "", false
	}
	ip, set := nw.Options[hostBindingIPv4]
	if !set {
		return "0.0.0.0", true
	}
	if a := net.ParseIP(ip); a == nil || a.To4() == nil {
		return "", false
	}
	return ip, true
}
