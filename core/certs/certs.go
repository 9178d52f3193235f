// Package certs makes the private CA and the agent certificates that
// `beacon tls ca create` and `beacon tls cert create` write: a self-signed
// ECDSA P-256 CA, optionally limited by name constraints to the cluster's
// domain, and server, client and CLI certificates it signs, named so that
// verify_server_hostname can tell a server of a datacenter
// (server.<dc>.<domain>) from everything else.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// Kinds of agent certificate.
const (
	Server = "server"
	Client = "client"
	CLI    = "cli"
)

// CAOptions describe a new CA.
type CAOptions struct {
	// Days the CA is valid for (default 1825).
	Days int
	// Domain is the cluster's DNS domain (default "consul"); with
	// NameConstraint the CA signs only names under it, localhost and
	// AdditionalConstraints.
	Domain                string
	NameConstraint        bool
	AdditionalConstraints []string
	// CommonName of the CA (default "Beacon Agent CA <serial>").
	CommonName string
}

// CertOptions describe a new agent certificate.
type CertOptions struct {
	Kind       string // Server, Client or CLI
	Datacenter string // default "dc1"
	Domain     string // default "consul"
	// Node, for a server, adds <node>.server.<dc>.<domain>.
	Node string
	// Days the certificate is valid for (default 365).
	Days int
	// DNSNames and IPs are added to localhost and 127.0.0.1.
	DNSNames []string
	IPs      []net.IP
}

// Name is the name a certificate of kind is issued for:
// server.dc1.consul, client.dc1.consul or cli.dc1.consul.
func Name(kind, datacenter, domain string) string {
	return kind + "." + datacenter + "." + strings.TrimSuffix(domain, ".")
}

// NewCA makes a self-signed CA and returns its certificate and key, PEM-encoded.
func NewCA(o CAOptions) (certPEM, keyPEM []byte, err error) {
	if o.Days == 0 {
		o.Days = 1825
	}
	if o.Days < 0 {
		return nil, nil, fmt.Errorf("days %d: must be positive", o.Days)
	}
	domain := strings.TrimSuffix(o.Domain, ".")
	if domain == "" {
		domain = "consul"
	}
	key, serial, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	cn := o.CommonName
	if cn == "" {
		cn = "Beacon Agent CA " + serial.String()
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"beacon"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(0, 0, o.Days),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	if o.NameConstraint {
		tmpl.PermittedDNSDomainsCritical = true
		tmpl.PermittedDNSDomains = append([]string{domain, "localhost"}, o.AdditionalConstraints...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return encode(der, key)
}

// NewCert makes a certificate of o.Kind signed by the CA and returns it
// and its key, PEM-encoded.
func NewCert(caCertPEM, caKeyPEM []byte, o CertOptions) (certPEM, keyPEM []byte, err error) {
	caCert, err := ParseCert(caCertPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	caKey, err := ParseKey(caKeyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	if !caCert.IsCA {
		return nil, nil, errors.New("CA certificate: it is not a CA")
	}
	if o.Days == 0 {
		o.Days = 365
	}
	if o.Days < 0 {
		return nil, nil, fmt.Errorf("days %d: must be positive", o.Days)
	}
	if o.Datacenter == "" {
		o.Datacenter = "dc1"
	}
	if o.Domain == "" {
		o.Domain = "consul"
	}
	var usage []x509.ExtKeyUsage
	switch o.Kind {
	case Server, Client:
		// Agents serve HTTPS and dial servers: both ends of TLS.
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	case CLI:
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		return nil, nil, fmt.Errorf("certificate kind %q: want server, client or cli", o.Kind)
	}
	name := Name(o.Kind, o.Datacenter, o.Domain)
	dns := []string{name, "localhost"}
	if o.Kind == Server && o.Node != "" {
		dns = append(dns, o.Node+"."+name)
	}
	dns = appendNew(dns, o.DNSNames...)
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	for _, ip := range o.IPs {
		if !containsIP(ips, ip) {
			ips = append(ips, ip)
		}
	}
	key, serial, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(0, 0, o.Days),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           usage,
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	if tmpl.NotAfter.After(caCert.NotAfter) {
		tmpl.NotAfter = caCert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	return encode(der, key)
}

// ParseCert reads the first certificate of a PEM file.
func ParseCert(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM certificate found")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

// ParseKey reads a PEM private key: SEC 1 EC, PKCS #1 RSA or PKCS #8.
func ParseKey(b []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM private key found")
		}
		switch blk.Type {
		case "EC PRIVATE KEY":
			return x509.ParseECPrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, err
			}
			switch k := k.(type) {
			case *ecdsa.PrivateKey:
				return k, nil
			case *rsa.PrivateKey:
				return k, nil
			case crypto.Signer:
				return k, nil
			}
			return nil, fmt.Errorf("unsupported private key type %T", k)
		}
	}
}

func encode(der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	return certPEM, keyPEM, nil
}

// newKey makes a certificate's key and serial number.
func newKey() (*ecdsa.PrivateKey, *big.Int, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return key, serial, err
}

func appendNew(list []string, more ...string) []string {
	for _, m := range more {
		found := false
		for _, l := range list {
			found = found || strings.EqualFold(l, m)
		}
		if !found && m != "" {
			list = append(list, m)
		}
	}
	return list
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, x := range ips {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}
