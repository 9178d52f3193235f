package daemon

import (
	"net"

	"github.com/beacon-sd/beacon/core/config"
)

// aclsEnabled reports whether the agent enforces ACLs (acl.enabled).
func aclsEnabled(cfg *config.Config) bool { return cfg.ACL.Enabled }

// warnExposed warns when the HTTP API listens beyond loopback while ACLs
// are off: whoever reaches it may read and change everything, and with
// enable_script_checks run commands on this host.
func (d *Daemon) warnExposed() {
	cfg := d.Config()
	if aclsEnabled(cfg) {
		return
	}
	var exposed []string
	for _, a := range append(d.HTTPAddrs(), d.HTTPSAddrs()...) {
		if ta, ok := a.(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
			exposed = append(exposed, a.String())
		}
	}
	if len(exposed) == 0 {
		return
	}
	if cfg.EnableScriptChecks {
		d.Logger.Warn("the HTTP API is reachable from the network with ACLs off and enable_script_checks on: "+
			"anyone who reaches it can run commands on this host; enable ACLs, bind the API to 127.0.0.1, "+
			"or use enable_local_script_checks instead", "addresses", exposed)
		return
	}
	d.Logger.Warn("the HTTP API is reachable from the network with ACLs off: anyone who reaches it can "+
		"read and change the catalog and KV; enable ACLs or bind the API to 127.0.0.1 (-client)", "addresses", exposed)
}
