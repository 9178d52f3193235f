package config

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// TLSBlock is one interface's part of the "tls" block (tls.defaults,
// tls.internal_rpc, tls.https, tls.grpc).
type TLSBlock struct {
	CAFile               string `json:"ca_file"`
	CAPath               string `json:"ca_path"`
	CertFile             string `json:"cert_file"`
	KeyFile              string `json:"key_file"`
	TLSMinVersion        string `json:"tls_min_version"`
	TLSCipherSuites      string `json:"tls_cipher_suites"`
	VerifyIncoming       *bool  `json:"verify_incoming"`
	VerifyOutgoing       *bool  `json:"verify_outgoing"`
	VerifyServerHostname *bool  `json:"verify_server_hostname"`
	UseAutoCert          *bool  `json:"use_auto_cert"`
}

// The interfaces TLS settings apply to.
const (
	TLSInternalRPC = "internal_rpc" // the server port: RPC and raft
	TLSHTTPS       = "https"        // the HTTPS API
)

// TLSSettings are the effective TLS settings of one interface: its own
// tls.<interface> keys, else tls.defaults, else the older top-level keys
// (ca_file, verify_incoming_rpc, ...).
type TLSSettings struct {
	CAFile, CAPath, CertFile, KeyFile string
	// MinVersion is one of TLSv1_0, TLSv1_1, TLSv1_2 (default), TLSv1_3.
	MinVersion   string
	CipherSuites []string
	// VerifyIncoming requires clients to present a certificate signed by
	// the CA (and, on the server port, refuses connections without TLS).
	VerifyIncoming bool
	// VerifyOutgoing makes connections to servers use TLS and check the
	// server's certificate against the CA; VerifyServerHostname (which
	// implies it) also checks that it names server.<datacenter>.<domain>.
	VerifyOutgoing       bool
	VerifyServerHostname bool
	// Keys name the config key each setting came from ("cert_file",
	// "tls.https.cert_file"), for messages.
	Keys map[string]string
}

// HasCA reports whether a CA is configured to verify peers with.
func (s TLSSettings) HasCA() bool { return s.CAFile != "" || s.CAPath != "" }

// HasCert reports whether the interface has its own certificate.
func (s TLSSettings) HasCert() bool { return s.CertFile != "" && s.KeyFile != "" }

// TLSFor resolves the settings of an interface (TLSInternalRPC or TLSHTTPS).
func (c *Config) TLSFor(iface string) TLSSettings {
	own := c.TLS.InternalRPC
	legacyIn := c.VerifyIncoming || c.VerifyIncomingRPC
	if iface == TLSHTTPS {
		own = c.TLS.HTTPS
		legacyIn = c.VerifyIncoming || c.VerifyIncomingHTTPS
	}
	def := c.TLS.Defaults
	s := TLSSettings{Keys: map[string]string{}}
	str := func(key, ownV, defV, legacyV string) string {
		switch {
		case ownV != "":
			s.Keys[key] = "tls." + iface + "." + key
			return ownV
		case defV != "":
			s.Keys[key] = "tls.defaults." + key
			return defV
		}
		s.Keys[key] = key
		return legacyV
	}
	boolean := func(key, legacyKey string, ownV, defV *bool, legacyV bool) bool {
		switch {
		case ownV != nil:
			s.Keys[key] = "tls." + iface + "." + key
			return *ownV
		case defV != nil:
			s.Keys[key] = "tls.defaults." + key
			return *defV
		}
		s.Keys[key] = legacyKey
		return legacyV
	}
	s.CAFile = str("ca_file", own.CAFile, def.CAFile, c.CAFile)
	s.CAPath = str("ca_path", own.CAPath, def.CAPath, c.CAPath)
	s.CertFile = str("cert_file", own.CertFile, def.CertFile, c.CertFile)
	s.KeyFile = str("key_file", own.KeyFile, def.KeyFile, c.KeyFile)
	s.MinVersion = str("tls_min_version", own.TLSMinVersion, def.TLSMinVersion, c.TLSMinVersion)
	ciphers := str("tls_cipher_suites", own.TLSCipherSuites, def.TLSCipherSuites, c.TLSCipherSuites)
	for _, name := range strings.Split(ciphers, ",") {
		if name = strings.TrimSpace(name); name != "" {
			s.CipherSuites = append(s.CipherSuites, name)
		}
	}
	inKey := "verify_incoming_rpc"
	if iface == TLSHTTPS {
		inKey = "verify_incoming_https"
	}
	s.VerifyIncoming = boolean("verify_incoming", inKey, own.VerifyIncoming, def.VerifyIncoming, legacyIn)
	s.VerifyOutgoing = boolean("verify_outgoing", "verify_outgoing", own.VerifyOutgoing, def.VerifyOutgoing, c.VerifyOutgoing)
	if iface == TLSInternalRPC {
		s.VerifyServerHostname = boolean("verify_server_hostname", "verify_server_hostname",
			own.VerifyServerHostname, def.VerifyServerHostname, c.VerifyServerHostname)
		s.VerifyOutgoing = s.VerifyOutgoing || s.VerifyServerHostname
	}
	return s
}

// tlsVersions maps tls_min_version's spellings, new and old, to one.
var tlsVersions = map[string]string{
	"tlsv1_0": "TLSv1_0", "tlsv1_1": "TLSv1_1", "tlsv1_2": "TLSv1_2", "tlsv1_3": "TLSv1_3",
	"tls10": "TLSv1_0", "tls11": "TLSv1_1", "tls12": "TLSv1_2", "tls13": "TLSv1_3",
}

// TLSVersion is the crypto/tls version of a tls_min_version value ("" is
// TLSv1_2).
func TLSVersion(v string) (uint16, bool) {
	if v == "" {
		return tls.VersionTLS12, true
	}
	switch tlsVersions[strings.ToLower(v)] {
	case "TLSv1_0":
		return tls.VersionTLS10, true
	case "TLSv1_1":
		return tls.VersionTLS11, true
	case "TLSv1_2":
		return tls.VersionTLS12, true
	case "TLSv1_3":
		return tls.VersionTLS13, true
	}
	return 0, false
}

// CipherSuite is the crypto/tls ID of a cipher suite name.
func CipherSuite(name string) (uint16, bool) {
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if cs.Name == name {
			return cs.ID, true
		}
	}
	return 0, false
}

// checkTLS rejects TLS settings that cannot work. Whether the files can be
// read is checked when the agent loads them.
func (c *Config) checkTLS() error {
	for _, iface := range []string{TLSInternalRPC, TLSHTTPS} {
		s := c.TLSFor(iface)
		k := s.Keys
		if (s.CertFile == "") != (s.KeyFile == "") {
			set, unset := "cert_file", "key_file"
			if s.CertFile == "" {
				set, unset = unset, set
			}
			// Name the missing key where the other one was written.
			missing := strings.TrimSuffix(k[set], set) + unset
			return fmt.Errorf("%s is set but %s is not: a certificate needs its key (%s %q)",
				k[set], missing, k[set], s.CertFile+s.KeyFile)
		}
		if _, ok := TLSVersion(s.MinVersion); !ok {
			return fmt.Errorf("%s %q: must be one of TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3", k["tls_min_version"], s.MinVersion)
		}
		for _, name := range s.CipherSuites {
			if _, ok := CipherSuite(name); !ok {
				return fmt.Errorf("%s: unknown cipher suite %q", k["tls_cipher_suites"], name)
			}
		}
		if s.VerifyIncoming && !s.HasCA() {
			return fmt.Errorf("%s is set but there is no %s or %s to verify client certificates with",
				k["verify_incoming"], k["ca_file"], k["ca_path"])
		}
		if s.VerifyIncoming && !s.HasCert() {
			return fmt.Errorf("%s is set but there is no %s and %s to serve TLS with",
				k["verify_incoming"], k["cert_file"], k["key_file"])
		}
		if iface == TLSInternalRPC && s.VerifyOutgoing && !s.HasCA() {
			return fmt.Errorf("%s is set but there is no %s or %s to verify servers with",
				k["verify_outgoing"], k["ca_file"], k["ca_path"])
		}
		if iface == TLSInternalRPC && c.Server && s.VerifyOutgoing && !s.HasCert() {
			return fmt.Errorf("%s is set on a server without %s and %s: other servers dial it with TLS",
				k["verify_outgoing"], k["cert_file"], k["key_file"])
		}
		if iface == TLSHTTPS && c.Ports.HTTPS >= 0 && !s.HasCert() {
			// As Consul: without a certificate there is no HTTPS listener.
			c.Warnings = append(c.Warnings, fmt.Sprintf("ports.https is %d but there is no %s and %s: no HTTPS listener is started",
				c.Ports.HTTPS, k["cert_file"], k["key_file"]))
			c.Ports.HTTPS = -1
		}
	}
	return nil
}
