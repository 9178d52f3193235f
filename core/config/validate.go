package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/beacon-sd/beacon/core/version"
)

var logLevels = map[string]string{
	"trace": "trace", "debug": "debug", "info": "info", "warn": "warn",
	"warning": "warn", "err": "error", "error": "error",
}

// finalize fills derived defaults and rejects settings that cannot work.
func (c *Config) finalize() error {
	if c.NodeName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return fmt.Errorf("node_name is not set and the hostname cannot be read; pass -node")
		}
		c.NodeName = h
	}
	if strings.ContainsAny(c.NodeName, " \t\n/") {
		return fmt.Errorf("node_name %q: must not contain spaces or slashes", c.NodeName)
	}
	lvl, ok := logLevels[strings.ToLower(c.LogLevel)]
	if !ok {
		return fmt.Errorf("log_level %q: must be one of trace, debug, info, warn, error", c.LogLevel)
	}
	c.LogLevel = lvl
	if c.Datacenter == "" || strings.ContainsAny(c.Datacenter, " \t\n/.") {
		return fmt.Errorf("datacenter %q: must be a non-empty name without spaces, dots or slashes", c.Datacenter)
	}
	c.Datacenter = strings.ToLower(c.Datacenter)
	if !strings.HasSuffix(c.Domain, ".") {
		c.Domain += "."
	}
	if c.AltDomain != "" && !strings.HasSuffix(c.AltDomain, ".") {
		c.AltDomain += "."
	}
	if !c.DevMode && c.DataDir == "" {
		return fmt.Errorf("data_dir must be set (or pass -data-dir); only -dev runs without one")
	}
	if c.Bootstrap && c.BootstrapExpect > 0 && !c.DevMode {
		return fmt.Errorf("bootstrap and bootstrap_expect cannot both be set")
	}
	if c.BootstrapExpect < 0 {
		return fmt.Errorf("bootstrap_expect %d: must not be negative", c.BootstrapExpect)
	}
	if c.BootstrapExpect > 0 && !c.Server {
		return fmt.Errorf("bootstrap_expect needs server mode (-server)")
	}
	switch c.RaftLogStore.Backend {
	case "", "wal", "boltdb":
	default:
		return fmt.Errorf("raft_logstore.backend %q: must be wal or boltdb", c.RaftLogStore.Backend)
	}
	if err := c.checkHarnessKeys(); err != nil {
		return err
	}
	if err := c.checkPorts(); err != nil {
		return err
	}
	if err := c.checkTLS(); err != nil {
		return err
	}
	for _, a := range []struct{ key, v string }{
		{"bind_addr", c.BindAddr}, {"advertise_addr", c.AdvertiseAddr},
		{"advertise_addr_wan", c.AdvertiseAddrWAN},
	} {
		if a.v != "" && !isAddrTemplate(a.v) && net.ParseIP(a.v) == nil {
			return fmt.Errorf("%s %q: not an IP address", a.key, a.v)
		}
	}
	for _, part := range strings.Fields(c.ClientAddr) {
		if !isAddrTemplate(part) && net.ParseIP(part) == nil && !strings.HasPrefix(part, "unix://") {
			return fmt.Errorf("client_addr %q: not an IP address", part)
		}
	}
	if c.Encrypt != "" {
		key, err := base64.StdEncoding.DecodeString(c.Encrypt)
		if err != nil {
			return fmt.Errorf("encrypt: not base64: %v (make one with `beacon keygen`)", err)
		}
		if n := len(key); n != 16 && n != 24 && n != 32 {
			return fmt.Errorf("encrypt: key is %d bytes, it must be 16, 24 or 32 (make one with `beacon keygen`)", n)
		}
	}
	if err := c.checkAutopilot(); err != nil {
		return err
	}
	if err := c.finalizeACL(); err != nil {
		return err
	}
	if err := c.finalizeConnect(); err != nil {
		return err
	}
	if c.Limits.HTTPMaxConnsPerClient < 0 {
		return fmt.Errorf("limits.http_max_conns_per_client %d: must not be negative (0 means no limit)", c.Limits.HTTPMaxConnsPerClient)
	}
	if c.Limits.TxnMaxReqLen < 0 {
		return fmt.Errorf("limits.txn_max_req_len %d: must not be negative (0 means the default of 512 KiB)", c.Limits.TxnMaxReqLen)
	}
	for _, s := range c.AllServices() {
		if err := s.Validate(); err != nil {
			return err
		}
	}
	for i, w := range c.Watches {
		if err := w.Validate(); err != nil {
			return fmt.Errorf("watches[%d]: %w", i, err)
		}
	}
	for _, ch := range c.AllChecks() {
		if ch.CheckID == "" && ch.Name == "" {
			return fmt.Errorf("a check definition needs a name or an id")
		}
		if err := ch.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// checkHarnessKeys checks the keys config files written for Consul carry
// about its version and its Enterprise and mesh features.
func (c *Config) checkHarnessKeys() error {
	if c.Version != "" && c.Version != version.ConsulCompat && c.Version != version.Version {
		return fmt.Errorf("version %q: this is beacon %s, answering as Consul %s", c.Version, version.Version, version.ConsulCompat)
	}
	if len(c.Segments) > 0 {
		return fmt.Errorf("segments: network segments are a Consul Enterprise feature beacon does not have")
	}
	if c.Audit.Enabled || len(c.Audit.Sinks) > 0 {
		return fmt.Errorf("audit: audit logging is a Consul Enterprise feature beacon does not have")
	}
	if len(c.Experiments) > 0 {
		return fmt.Errorf("experiments %q: beacon has no experimental features", c.Experiments)
	}
	if c.Peering.Enabled != nil && *c.Peering.Enabled {
		c.Warnings = append(c.Warnings, "peering.enabled: cluster peering is service mesh, which beacon does not do; the /v1/peering endpoints answer 501")
	}
	return nil
}

func (c *Config) checkPorts() error {
	for _, p := range []struct {
		key string
		v   int
	}{
		{"ports.http", c.Ports.HTTP}, {"ports.https", c.Ports.HTTPS}, {"ports.dns", c.Ports.DNS},
		{"ports.grpc", c.Ports.GRPC}, {"ports.grpc_tls", c.Ports.GRPCTLS},
		{"ports.serf_lan", c.Ports.SerfLAN}, {"ports.serf_wan", c.Ports.SerfWAN},
		{"ports.server", c.Ports.Server},
	} {
		if p.v < -1 || p.v > 65535 {
			return fmt.Errorf("%s %d: must be a port (0-65535), or -1 to disable", p.key, p.v)
		}
	}
	return nil
}

// isAddrTemplate reports a go-sockaddr template ("{{ GetPrivateIP }}").
func isAddrTemplate(s string) bool { return strings.Contains(s, "{{") }

// checkAutopilot refuses autopilot settings beacon would not act on,
// naming the key.
func (c *Config) checkAutopilot() error {
	a := c.Autopilot
	switch {
	case a.LastContactThreshold < 0:
		return fmt.Errorf("autopilot.last_contact_threshold %s: must not be negative", a.LastContactThreshold.D())
	case a.ServerStabilizationTime < 0:
		return fmt.Errorf("autopilot.server_stabilization_time %s: must not be negative", a.ServerStabilizationTime.D())
	case a.RedundancyZoneTag != "":
		return fmt.Errorf("autopilot.redundancy_zone_tag %q: redundancy zones are a Consul Enterprise feature that beacon does not have; remove the key", a.RedundancyZoneTag)
	case a.DisableUpgradeMigration:
		return fmt.Errorf("autopilot.disable_upgrade_migration: upgrade migrations are a Consul Enterprise feature that beacon does not have; remove the key")
	case a.UpgradeVersionTag != "":
		return fmt.Errorf("autopilot.upgrade_version_tag %q: upgrade migrations are a Consul Enterprise feature that beacon does not have; remove the key", a.UpgradeVersionTag)
	}
	return nil
}
