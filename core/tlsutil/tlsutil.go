// Package tlsutil turns the agent's TLS settings into *tls.Config values
// for its three uses: the HTTPS listener, the server port (incoming RPC and
// raft) and connections to servers, where verify_server_hostname checks
// that the far end holds a certificate for server.<datacenter>.<domain>.
// Certificates and CAs are read again on reload and take effect from the
// next handshake, without reopening any listener.
package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/beacon-sd/beacon/core/certs"
	"github.com/beacon-sd/beacon/core/config"
)

// Configurator hands out TLS configurations built from the current
// settings and files.
type Configurator struct {
	mu    sync.RWMutex
	rpc   *side
	https *side
	// serverName is server.<datacenter>.<domain>.
	serverName string
}

// side is one interface's settings with its files loaded.
type side struct {
	s       config.TLSSettings
	cert    *tls.Certificate // nil when the interface has none
	pool    *x509.CertPool   // nil when no CA is configured
	min     uint16
	ciphers []uint16
}

// New loads the certificates and CAs the configuration names. Errors name
// the config key and the file.
func New(cfg *config.Config) (*Configurator, error) {
	c := &Configurator{}
	if err := c.Reload(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the settings and files again; on error the previous ones
// stay in use.
func (c *Configurator) Reload(cfg *config.Config) error {
	rpc, err := load(cfg.TLSFor(config.TLSInternalRPC))
	if err != nil {
		return err
	}
	https, err := load(cfg.TLSFor(config.TLSHTTPS))
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rpc, c.https = rpc, https
	c.serverName = certs.Name(certs.Server, cfg.Datacenter, cfg.Domain)
	return nil
}

func load(s config.TLSSettings) (*side, error) {
	sd := &side{s: s}
	var ok bool
	if sd.min, ok = config.TLSVersion(s.MinVersion); !ok {
		return nil, fmt.Errorf("%s %q: not a TLS version", s.Keys["tls_min_version"], s.MinVersion)
	}
	for _, name := range s.CipherSuites {
		id, ok := config.CipherSuite(name)
		if !ok {
			return nil, fmt.Errorf("%s: unknown cipher suite %q", s.Keys["tls_cipher_suites"], name)
		}
		sd.ciphers = append(sd.ciphers, id)
	}
	if s.HasCert() {
		pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s %q and %s %q: %w", s.Keys["cert_file"], s.CertFile, s.Keys["key_file"], s.KeyFile, err)
		}
		sd.cert = &pair
	}
	if s.HasCA() {
		sd.pool = x509.NewCertPool()
		if s.CAFile != "" {
			if err := addPEM(sd.pool, s.CAFile); err != nil {
				return nil, fmt.Errorf("%s: %w", s.Keys["ca_file"], err)
			}
		}
		if s.CAPath != "" {
			if err := addDir(sd.pool, s.CAPath); err != nil {
				return nil, fmt.Errorf("%s: %w", s.Keys["ca_path"], err)
			}
		}
	}
	return sd, nil
}

// errNoCerts marks a CA file without a certificate in it.
var errNoCerts = errors.New("no PEM certificate found")

func addPEM(pool *x509.CertPool, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !pool.AppendCertsFromPEM(b) {
		return fmt.Errorf("%s: %w", file, errNoCerts)
	}
	return nil
}

func addDir(pool *x509.CertPool, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		err := addPEM(pool, filepath.Join(dir, e.Name()))
		if errors.Is(err, errNoCerts) {
			continue // not every file in a CA directory is a certificate
		}
		if err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: %w in any file", dir, errNoCerts)
	}
	return nil
}

func (c *Configurator) sides() (rpc, https *side, serverName string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rpc, c.https, c.serverName
}

// ServerName is the name servers' certificates must hold:
// server.<datacenter>.<domain>.
func (c *Configurator) ServerName() string {
	_, _, name := c.sides()
	return name
}

// HTTPSEnabled reports whether there is a certificate to serve HTTPS with.
func (c *Configurator) HTTPSEnabled() bool {
	_, https, _ := c.sides()
	return https.cert != nil
}

// IncomingHTTPS is the HTTPS listener's configuration: HTTP/2 or HTTP/1.1
// by ALPN, and client certificates required with verify_incoming(_https).
func (c *Configurator) IncomingHTTPS() *tls.Config {
	return &tls.Config{
		NextProtos: []string{"h2", "http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			_, https, _ := c.sides()
			cfg := https.serverConfig()
			cfg.NextProtos = []string{"h2", "http/1.1"}
			if !https.s.VerifyIncoming {
				// Not even asked for: a browser would prompt for one.
				cfg.ClientAuth, cfg.ClientCAs = tls.NoClientCert, nil
			}
			return cfg, nil
		},
	}
}

// IncomingRPC is the configuration of TLS connections to the server port,
// or nil when this agent has no certificate to accept them with.
func (c *Configurator) IncomingRPC() *tls.Config {
	rpc, _, _ := c.sides()
	if rpc.cert == nil {
		return nil
	}
	return &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			rpc, _, _ := c.sides()
			return rpc.serverConfig(), nil
		},
	}
}

// RequireIncomingTLS reports whether the server port refuses connections
// without TLS (verify_incoming_rpc).
func (c *Configurator) RequireIncomingTLS() bool {
	rpc, _, _ := c.sides()
	return rpc.s.VerifyIncoming
}

// serverConfig accepts TLS with the side's certificate; a client
// certificate is required with verify_incoming and checked against the CA
// whenever one is given.
func (sd *side) serverConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: sd.min, CipherSuites: sd.ciphers}
	if sd.cert != nil {
		cfg.Certificates = []tls.Certificate{*sd.cert}
	}
	switch {
	case sd.s.VerifyIncoming:
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, sd.pool
	case sd.pool != nil:
		cfg.ClientAuth, cfg.ClientCAs = tls.VerifyClientCertIfGiven, sd.pool
	}
	return cfg
}

// OutgoingRPC is the configuration for dialing a server, or nil when
// verify_outgoing is off and connections go without TLS. The server's
// certificate must be signed by the CA, and with verify_server_hostname
// name server.<datacenter>.<domain>; this agent's own certificate, if it
// has one, goes along for servers that verify incoming connections.
func (c *Configurator) OutgoingRPC() *tls.Config {
	rpc, _, serverName := c.sides()
	if !rpc.s.VerifyOutgoing {
		return nil
	}
	cfg := &tls.Config{
		RootCAs: rpc.pool, MinVersion: rpc.min, CipherSuites: rpc.ciphers,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if rpc.cert == nil {
				return &tls.Certificate{}, nil
			}
			return rpc.cert, nil
		},
	}
	if rpc.s.VerifyServerHostname {
		cfg.ServerName = serverName
		return cfg
	}
	// The chain alone: servers are dialled by IP address, which their
	// certificates need not name.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyChain(cs, rpc.pool)
	}
	return cfg
}

func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("tls: failed to verify certificate: %w", err)
	}
	return nil
}

// ErrNotServer is returned for a raft connection from a peer that did not
// prove it is a server of this datacenter.
var ErrNotServer = errors.New("not a server of this datacenter")

// VerifyServer decides, with verify_server_hostname, whether a peer may
// speak raft: it must have connected with TLS (cs is nil for a plain
// connection) and shown a certificate for server.<datacenter>.<domain>.
func (c *Configurator) VerifyServer(cs *tls.ConnectionState) error {
	rpc, _, serverName := c.sides()
	if !rpc.s.VerifyServerHostname {
		return nil
	}
	if cs == nil {
		return fmt.Errorf("%w: verify_server_hostname is set and the connection is not TLS", ErrNotServer)
	}
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no client certificate", ErrNotServer)
	}
	if err := cs.PeerCertificates[0].VerifyHostname(serverName); err != nil {
		return fmt.Errorf("%w: %v", ErrNotServer, err)
	}
	return nil
}

// Describe summarises the settings for the startup log.
func (c *Configurator) Describe() string {
	rpc, https, _ := c.sides()
	var parts []string
	flag := func(name string, on bool) {
		if on {
			parts = append(parts, name)
		}
	}
	flag("https", https.cert != nil)
	flag("verify_incoming_https", https.s.VerifyIncoming)
	flag("rpc", rpc.cert != nil)
	flag("verify_incoming_rpc", rpc.s.VerifyIncoming)
	flag("verify_outgoing", rpc.s.VerifyOutgoing)
	flag("verify_server_hostname", rpc.s.VerifyServerHostname)
	if len(parts) == 0 {
		return "off"
	}
	return strings.Join(parts, ",")
}
