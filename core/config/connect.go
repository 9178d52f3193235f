package config

import (
	"fmt"
	"time"

	"github.com/beacon-sd/beacon/core/connect"
)

// Connect is the "connect" block: the built-in certificate authority.
// The service mesh around it (proxies, gateways, other CA providers) is
// not part of beacon, and its keys are refused.
type Connect struct {
	// Enabled runs the CA on servers; on unless set to false, as in
	// Consul.
	Enabled    *bool    `json:"enabled"`
	CAProvider string   `json:"ca_provider"`
	CAConfig   CAConfig `json:"ca_config"`
}

// CAConfig is connect.ca_config, what the leader makes the CA with when
// the cluster has none yet.
type CAConfig struct {
	ClusterID           string   `json:"cluster_id"`
	LeafCertTTL         Duration `json:"leaf_cert_ttl"`
	RootCertTTL         Duration `json:"root_cert_ttl"`
	IntermediateCertTTL Duration `json:"intermediate_cert_ttl"`
	PrivateKeyType      string   `json:"private_key_type"`
	PrivateKeyBits      int      `json:"private_key_bits"`
	PrivateKey          string   `json:"private_key"`
	RootCert            string   `json:"root_cert"`
}

// ConnectEnabled reports whether the CA runs.
func (c *Config) ConnectEnabled() bool { return c.Connect.Enabled == nil || *c.Connect.Enabled }

// CAProviderConfig is ca_config in the CA API's key names, only the keys
// that were set.
func (c *Config) CAProviderConfig() map[string]interface{} {
	cc := c.Connect.CAConfig
	m := map[string]interface{}{}
	for _, d := range []struct {
		k string
		v Duration
	}{{"LeafCertTTL", cc.LeafCertTTL}, {"RootCertTTL", cc.RootCertTTL}, {"IntermediateCertTTL", cc.IntermediateCertTTL}} {
		if d.v != 0 {
			m[d.k] = time.Duration(d.v).String()
		}
	}
	for k, v := range map[string]string{"PrivateKeyType": cc.PrivateKeyType, "PrivateKey": cc.PrivateKey, "RootCert": cc.RootCert} {
		if v != "" {
			m[k] = v
		}
	}
	if cc.PrivateKeyBits != 0 {
		m["PrivateKeyBits"] = cc.PrivateKeyBits
	}
	return m
}

// finalizeConnect checks the connect block.
func (c *Config) finalizeConnect() error {
	switch c.Connect.CAProvider {
	case "", "consul":
	default:
		return fmt.Errorf("connect.ca_provider %q: only the built-in \"consul\" provider is supported by beacon", c.Connect.CAProvider)
	}
	pc, err := connect.ParseConfig(c.CAProviderConfig())
	if err == nil {
		err = pc.ResolveKey()
	}
	if err != nil {
		return fmt.Errorf("connect.ca_config: %v", err)
	}
	return nil
}
