package config

import (
	"crypto/tls"
	"strings"
	"testing"
)

func build(t *testing.T, format, body string) (*Config, error) {
	t.Helper()
	return Build(true, []Source{{Name: "tls." + format, Format: format, Data: []byte(body)}})
}

// Seed 002's settings, in the older top-level keys.
func TestTLSTopLevelKeys(t *testing.T) {
	c, err := build(t, "json", `{
	  "verify_incoming": false, "verify_incoming_rpc": true, "verify_outgoing": true, "verify_server_hostname": true,
	  "ca_file": "/etc/beacon/consul-agent-ca.pem", "cert_file": "/etc/beacon/dc1-server-consul-0.pem",
	  "key_file": "/etc/beacon/dc1-server-consul-0-key.pem", "tls_min_version": "tls13",
	  "ports": {"https": 8501}, "addresses": {"https": "0.0.0.0"}}`)
	if err != nil {
		t.Fatal(err)
	}
	rpc, https := c.TLSFor(TLSInternalRPC), c.TLSFor(TLSHTTPS)
	if !rpc.VerifyIncoming || !rpc.VerifyOutgoing || !rpc.VerifyServerHostname || rpc.MinVersion != "tls13" {
		t.Errorf("internal_rpc: %+v", rpc)
	}
	if https.VerifyIncoming || https.VerifyServerHostname || https.CertFile != "/etc/beacon/dc1-server-consul-0.pem" {
		t.Errorf("https: %+v", https)
	}
	if rpc.Keys["verify_incoming"] != "verify_incoming_rpc" || https.Keys["cert_file"] != "cert_file" {
		t.Errorf("keys: %v %v", rpc.Keys, https.Keys)
	}
	if v, _ := TLSVersion(rpc.MinVersion); v != tls.VersionTLS13 || c.Ports.HTTPS != 8501 || c.Addresses.HTTPS != "0.0.0.0" {
		t.Errorf("version %x, https port %d on %q", v, c.Ports.HTTPS, c.Addresses.HTTPS)
	}
}

// The tls block of newer files: defaults, overridden per interface, and
// winning over the older keys.
func TestTLSBlock(t *testing.T) {
	c, err := build(t, "hcl", `
verify_incoming = true
ca_file = "/old/ca.pem"
tls {
  defaults {
    ca_file = "/new/ca.pem"
    cert_file = "/new/agent.pem"
    key_file = "/new/agent-key.pem"
    verify_outgoing = true
    tls_min_version = "TLSv1_3"
  }
  internal_rpc {
    verify_server_hostname = true
  }
  https {
    verify_incoming = false
    cert_file = "/new/web.pem"
    key_file = "/new/web-key.pem"
  }
  grpc {
    use_auto_cert = false
  }
}`)
	if err != nil {
		t.Fatal(err)
	}
	rpc, https := c.TLSFor(TLSInternalRPC), c.TLSFor(TLSHTTPS)
	if rpc.CAFile != "/new/ca.pem" || rpc.CertFile != "/new/agent.pem" || !rpc.VerifyIncoming ||
		!rpc.VerifyOutgoing || !rpc.VerifyServerHostname || rpc.MinVersion != "TLSv1_3" {
		t.Errorf("internal_rpc: %+v", rpc)
	}
	if https.CertFile != "/new/web.pem" || https.VerifyIncoming || https.Keys["verify_incoming"] != "tls.https.verify_incoming" {
		t.Errorf("https: %+v", https)
	}
	if rpc.Keys["ca_file"] != "tls.defaults.ca_file" || rpc.Keys["verify_incoming"] != "verify_incoming_rpc" {
		t.Errorf("keys: %v", rpc.Keys)
	}
}

func TestTLSVerifyServerHostnameImpliesOutgoing(t *testing.T) {
	c, err := build(t, "json", `{"verify_server_hostname": true, "ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"}`)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.TLSFor(TLSInternalRPC); !s.VerifyOutgoing {
		t.Fatalf("verify_server_hostname without verify_outgoing: %+v", s)
	}
}

func TestTLSErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, format, body string
		want               []string
	}{
		{"cert without key", "json", `{"cert_file": "/x/cert.pem"}`, []string{"cert_file", "key_file", "/x/cert.pem"}},
		{"key without cert in the block", "hcl", `tls { https { key_file = "/k.pem" } }`, []string{"tls.https.key_file", "tls.https.cert_file"}},
		{"bad version", "json", `{"tls_min_version": "ssl3"}`, []string{"tls_min_version", "ssl3", "TLSv1_2"}},
		{"bad cipher", "hcl", `tls { defaults { tls_cipher_suites = "TLS_AES_128_GCM_SHA256,NOPE" } }`, []string{"tls.defaults.tls_cipher_suites", "NOPE"}},
		{"verify_incoming without CA", "json", `{"verify_incoming": true, "cert_file": "/c", "key_file": "/k"}`, []string{"verify_incoming_rpc", "ca_file"}},
		{"verify_incoming without cert", "json", `{"verify_incoming_https": true, "ca_file": "/ca"}`, []string{"verify_incoming_https", "cert_file"}},
		{"verify_outgoing without CA", "json", `{"verify_outgoing": true}`, []string{"verify_outgoing", "ca_file"}},
		{"server dialled with TLS but has no cert", "json", `{"verify_outgoing": true, "ca_file": "/ca"}`, []string{"verify_outgoing", "server", "cert_file"}},
		{"unknown key in the block", "hcl", `tls { defaults { ca_fil = "x" } }`, []string{"tls.defaults.ca_fil"}},
	}
	for _, tc := range cases {
		_, err := build(t, tc.format, tc.body)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", tc.name, err, w)
			}
		}
	}
}
