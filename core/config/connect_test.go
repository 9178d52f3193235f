package config

import (
	"strings"
	"testing"
	"time"
)

func TestConnectBlock(t *testing.T) {
	dir := t.TempDir()
	// As the official test harness writes it.
	p := write(t, dir, "c.json", `{"node_name":"n","dev":true,"connect":{"enabled":true,"ca_config":{"cluster_id":"11111111-2222-3333-4444-555555555555"}}}`)
	c, err := load(t, "-dev", "-config-file", p)
	if err != nil {
		t.Fatal(err)
	}
	if !c.ConnectEnabled() || c.Connect.CAConfig.ClusterID != "11111111-2222-3333-4444-555555555555" || len(c.CAProviderConfig()) != 0 {
		t.Fatalf("connect: %+v", c.Connect)
	}
	p = write(t, dir, "d.hcl", `node_name = "n"
connect {
  enabled = false
  ca_provider = "consul"
  ca_config {
    leaf_cert_ttl = "24h"
    private_key_type = "rsa"
    private_key_bits = 4096
  }
}`)
	c, err = load(t, "-dev", "-config-file", p)
	if err != nil {
		t.Fatal(err)
	}
	m := c.CAProviderConfig()
	if c.ConnectEnabled() || m["LeafCertTTL"] != (24*time.Hour).String() || m["PrivateKeyType"] != "rsa" || m["PrivateKeyBits"] != 4096 {
		t.Fatalf("connect: %+v %v", c.Connect, m)
	}
	// Connect is on unless turned off, as in Consul.
	p = write(t, dir, "e.json", `{"node_name":"n"}`)
	if c, err = load(t, "-dev", "-config-file", p); err != nil || !c.ConnectEnabled() {
		t.Fatalf("default: %v %v", err, c)
	}
}

func TestConnectBlockRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ body, want string }{
		{`{"connect":{"enable_mesh_gateway_wan_federation":true}}`, `connect.enable_mesh_gateway_wan_federation`},
		{`{"connect":{"ca_provider":"vault"}}`, `connect.ca_provider "vault": only the built-in "consul" provider`},
		{`{"connect":{"ca_config":{"address":"https://vault:8200"}}}`, `connect.ca_config.address`},
		{`{"connect":{"ca_config":{"leaf_cert_ttl":"10m"}}}`, `LeafCertTTL 10m0s: must be between 1h and 8760h`},
		{`{"connect":{"ca_config":{"private_key_type":"dsa"}}}`, `PrivateKeyType "dsa"`},
		{`{"connect":{"ca_config":{"private_key":"junk"}}}`, `PrivateKey: no PEM block`},
	} {
		p := write(t, dir, "bad.json", c.body)
		_, err := load(t, "-dev", "-node", "n", "-config-file", p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.body, err, c.want)
		}
	}
}
