package dockertest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

// Container is what a test starts: `docker run -d` with these settings on
// the busybox image.
type Container struct {
	Name   string
	Env    []string
	Labels map[string]string
	// Publish maps a container port ("80/tcp") to a host port on 127.0.0.1.
	Publish map[string]int
	// Expose lists ports exposed without publishing ("9000/tcp").
	Expose []string
	// Cmd defaults to a web server on port 80 serving /www.
	Cmd []string
	// Network is the network to start on ("host", or a user-defined one).
	Network string
	// Restart is the restart policy ("always", ...).
	Restart     string
	Healthcheck *container.HealthConfig
}

// WebServer is the default command: busybox httpd on port 80, in the
// foreground.
var WebServer = []string{"httpd", "-f", "-p", "80", "-h", "/www"}

// Run creates and starts a container and returns its ID.
func (e *Engine) Run(t testing.TB, c Container) string {
	t.Helper()
	id := e.Create(t, c)
	e.Start(t, id)
	return id
}

// Create creates a container without starting it.
func (e *Engine) Create(t testing.TB, c Container) string {
	t.Helper()
	cmd := c.Cmd
	if cmd == nil {
		cmd = WebServer
	}
	// busybox httpd as PID 1 ignores SIGTERM: stop it after a second
	// rather than Docker's ten, also when the engine shuts down.
	stopTimeout := 1
	cfg := &container.Config{
		Image: Image, Cmd: cmd, Env: c.Env, Labels: c.Labels,
		ExposedPorts: nat.PortSet{}, Healthcheck: c.Healthcheck, StopTimeout: &stopTimeout,
	}
	hc := &container.HostConfig{PortBindings: nat.PortMap{}}
	for _, p := range c.Expose {
		cfg.ExposedPorts[nat.Port(p)] = struct{}{}
	}
	for p, hostPort := range c.Publish {
		cfg.ExposedPorts[nat.Port(p)] = struct{}{}
		hc.PortBindings[nat.Port(p)] = []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: strconv.Itoa(hostPort)}}
	}
	if c.Network != "" {
		hc.NetworkMode = container.NetworkMode(c.Network)
	}
	if c.Restart != "" {
		hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(c.Restart)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := e.Client.ContainerCreate(ctx, cfg, hc, &network.NetworkingConfig{}, nil, c.Name)
	if err != nil {
		t.Fatalf("create container %q: %v", c.Name, err)
	}
	return resp.ID
}

// Start starts a created or stopped container.
func (e *Engine) Start(t testing.TB, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatalf("start container %s: %v", id, err)
	}
}

// Stop stops a container, killing it after timeout seconds (busybox httpd
// as PID 1 ignores SIGTERM, so it exits 137 after the timeout).
func (e *Engine) Stop(t testing.TB, id string, timeout int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := e.Client.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatalf("stop container %s: %v", id, err)
	}
}

// Remove force-removes a container.
func (e *Engine) Remove(t testing.TB, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := e.Client.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil {
		t.Fatalf("remove container %s: %v", id, err)
	}
}

// CreateNetwork makes a user-defined bridge network with a free subnet
// and returns its subnet; it is removed with the engine. edit changes the
// settings first (Internal, Options, ...).
func (e *Engine) CreateNetwork(t testing.TB, name string, edit ...func(*network.CreateOptions)) (subnet string) {
	t.Helper()
	subnet, gw, err := freeSubnet()
	if err != nil {
		t.Fatalf("network %s: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := network.CreateOptions{
		Driver: "bridge",
		IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet, Gateway: gw}}},
	}
	for _, f := range edit {
		f(&opts)
	}
	_, err = e.Client.NetworkCreate(ctx, name, opts)
	if err != nil {
		t.Fatalf("create network %s: %v", name, err)
	}
	return subnet
}

// Connect attaches a container to a network.
func (e *Engine) Connect(t testing.TB, networkName, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.NetworkConnect(ctx, networkName, id, nil); err != nil {
		t.Fatalf("connect %s to %s: %v", id, networkName, err)
	}
}

// removeAll force-removes every container and user-defined network.
func (e *Engine) removeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	list, err := e.Client.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return
	}
	for _, c := range list {
		e.Client.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
	nets, err := e.Client.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return
	}
	for _, n := range nets {
		switch n.Name {
		case "bridge", "host", "none":
		default:
			e.Client.NetworkRemove(ctx, n.ID)
		}
	}
}
