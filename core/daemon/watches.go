package daemon

import (
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/structs"
)

// WatchStarter runs the watches defs against the agent's own HTTP API at
// addr ("http://host:port", or "https://host:port" with the TLS files of
// tlsFiles) until the stop it returns is called; stop waits for them. The
// agent command passes watch.Start: the daemon does not import the watcher
// itself, whose tests start agents through the daemon.
type WatchStarter func(defs []*structs.WatchDefinition, addr string, tlsFiles config.TLSSettings, logger hclog.Logger) (stop func(), err error)

// startWatches runs the configuration's watches, in place of those
// running: a reload replaces them all.
func (d *Daemon) startWatches(cfg *config.Config) error {
	d.stopWatches()
	if len(cfg.Watches) == 0 {
		return nil
	}
	if d.runWatches == nil {
		return fmt.Errorf("watches: this agent was started without a runner for its watches")
	}
	addr, err := d.localAPI()
	if err != nil {
		return err
	}
	stop, err := d.runWatches(cfg.Watches, addr, cfg.TLSFor(config.TLSHTTPS), d.Logger.Named("watch"))
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.watchesStop = stop
	d.mu.Unlock()
	return nil
}

// stopWatches ends the running watches, handlers under way included, and
// waits for them.
func (d *Daemon) stopWatches() {
	d.mu.Lock()
	stop := d.watchesStop
	d.watchesStop = nil
	d.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// localAPI is where the agent's watches reach its own HTTP API: the first
// HTTP listener on TCP, else the first HTTPS one.
func (d *Daemon) localAPI() (string, error) {
	for _, a := range d.HTTPAddrs() {
		if tcp, ok := a.(*net.TCPAddr); ok {
			return "http://" + dialable(tcp), nil
		}
	}
	for _, a := range d.HTTPSAddrs() {
		if tcp, ok := a.(*net.TCPAddr); ok {
			return "https://" + dialable(tcp), nil
		}
	}
	return "", fmt.Errorf("watches query the agent's HTTP API, and it has no HTTP or HTTPS listener on TCP (ports.http, ports.https)")
}

// dialable is a listener's address as a client reaches it: a wildcard
// address becomes loopback.
func dialable(a *net.TCPAddr) string {
	ip := a.IP
	switch {
	case ip == nil || ip.Equal(net.IPv4zero):
		ip = net.IPv4(127, 0, 0, 1)
	case ip.Equal(net.IPv6unspecified):
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(a.Port))
}
