package connect

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// RootName is the name every root the built-in provider makes carries.
const RootName = "Consul CA Primary Cert"

// TrustDomain is the SPIFFE trust domain of a cluster.
func TrustDomain(clusterID string) string { return clusterID + ".consul" }

// ServiceURI is the SPIFFE ID of a service.
func ServiceURI(trustDomain, dc, service string) *url.URL {
	return &url.URL{Scheme: "spiffe", Host: trustDomain, Path: "/ns/default/dc/" + dc + "/svc/" + service}
}

// ParseServiceURI reads the trust domain, datacenter and service of a
// service's SPIFFE ID.
func ParseServiceURI(u *url.URL) (td, dc, service string, err error) {
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if u.Scheme != "spiffe" || len(parts) != 6 || parts[0] != "ns" || parts[2] != "dc" || parts[4] != "svc" || parts[5] == "" {
		return "", "", "", fmt.Errorf("%q is not a service's SPIFFE ID (spiffe://<trust domain>/ns/default/dc/<dc>/svc/<service>)", u.String())
	}
	if parts[1] != "default" {
		return "", "", "", fmt.Errorf("namespace %q: only the default namespace exists", parts[1])
	}
	return u.Host, parts[3], parts[5], nil
}

func curve(bits int) (elliptic.Curve, error) {
	switch bits {
	case 224:
		return elliptic.P224(), nil
	case 256:
		return elliptic.P256(), nil
	case 384:
		return elliptic.P384(), nil
	case 521:
		return elliptic.P521(), nil
	}
	return nil, fmt.Errorf("CA config: PrivateKeyBits %d: an ec key must have 224, 256, 384 or 521 bits", bits)
}

// GenerateKey makes a private key and returns it with its PEM form.
func GenerateKey(keyType string, bits int) (crypto.Signer, string, error) {
	var key crypto.Signer
	var block *pem.Block
	switch keyType {
	case "ec":
		c, err := curve(bits)
		if err != nil {
			return nil, "", err
		}
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			return nil, "", err
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, "", err
		}
		key, block = k, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, "", err
		}
		key, block = k, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	default:
		return nil, "", fmt.Errorf("unknown private key type %q", keyType)
	}
	return key, string(pem.EncodeToMemory(block)), nil
}

// ParseKey reads a PEM private key (EC, PKCS#1 or PKCS#8).
func ParseKey(s string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, fmt.Errorf("no PEM block found")
	}
	var k interface{}
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	s2, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T key cannot sign", k)
	}
	return s2, nil
}

// keyInfo is the type and size of a key, as the CA config names them.
func keyInfo(pub crypto.PublicKey) (string, int, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ec", k.Curve.Params().BitSize, nil
	case *rsa.PublicKey:
		return "rsa", k.N.BitLen(), nil
	}
	return "", 0, fmt.Errorf("unsupported key type %T", pub)
}

// ParseCert reads the first certificate of a PEM text.
func ParseCert(s string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("no PEM certificate found")
	}
	return x509.ParseCertificate(block.Bytes)
}

func certPEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// colonHex writes bytes as Consul shows fingerprints and key IDs: "a1:b2:...".
func colonHex(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", x)
	}
	return sb.String()
}

// KeyID is the SHA-256 of a public key's DER form.
func KeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(der)
	return h[:], nil
}

// Fingerprint is a certificate's SHA-1 fingerprint, the ID of a root.
func Fingerprint(der []byte) string {
	h := sha1.Sum(der)
	return colonHex(h[:])
}

// SerialString is a serial number as the API shows it.
func SerialString(n *big.Int) string { return colonHex(n.Bytes()) }

// serial draws a random positive 63-bit serial number.
func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

func randomLabel() string {
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// caTemplate is what a CA certificate (root or intermediate) of the
// cluster holds.
func caTemplate(clusterID, label string, pub crypto.PublicKey, notAfter time.Time) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	kid, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	short := clusterID
	if len(short) > 8 {
		short = short[:8]
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s-%s.consul.ca.%s.consul", label, randomLabel(), short)},
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: TrustDomain(clusterID)}},
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          kid,
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              notAfter,
	}, nil
}

// NewRoot makes the CA's root: from the configured key and certificate
// when given, else a new self-signed one; and an intermediate
// certificate under it that signs leaves.
func NewRoot(clusterID string, c Config) (*structs.CARootState, error) {
	var key crypto.Signer
	var keyPEM string
	var err error
	if c.PrivateKey != "" {
		if key, err = ParseKey(c.PrivateKey); err != nil {
			return nil, fmt.Errorf("CA config: PrivateKey: %w", err)
		}
		keyPEM = c.PrivateKey
	} else if key, keyPEM, err = GenerateKey(c.PrivateKeyType, c.PrivateKeyBits); err != nil {
		return nil, err
	}
	var root *x509.Certificate
	if c.RootCert != "" {
		if root, err = ParseCert(c.RootCert); err != nil {
			return nil, fmt.Errorf("CA config: RootCert: %w", err)
		}
		if !root.IsCA {
			return nil, fmt.Errorf("CA config: RootCert is not a CA certificate")
		}
		if !publicKeysEqual(root.PublicKey, key.Public()) {
			return nil, fmt.Errorf("CA config: PrivateKey is not the key of RootCert")
		}
		if time.Now().After(root.NotAfter) {
			return nil, fmt.Errorf("CA config: RootCert expired at %s", root.NotAfter.UTC().Format(time.RFC3339))
		}
	} else {
		tmpl, err := caTemplate(clusterID, "pri", key.Public(), time.Now().Add(c.RootCertTTL))
		if err != nil {
			return nil, err
		}
		tmpl.AuthorityKeyId = tmpl.SubjectKeyId
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			return nil, fmt.Errorf("create root certificate: %w", err)
		}
		if root, err = x509.ParseCertificate(der); err != nil {
			return nil, err
		}
	}
	typ, bits, err := keyInfo(key.Public())
	if err != nil {
		return nil, fmt.Errorf("CA config: PrivateKey: %w", err)
	}
	r := &structs.CARootState{
		CARoot: structs.CARoot{
			ID: Fingerprint(root.Raw), Name: RootName, SerialNumber: root.SerialNumber.Uint64(),
			ExternalTrustDomain: clusterID, NotBefore: root.NotBefore.UTC(), NotAfter: root.NotAfter.UTC(),
			RootCert: certPEM(root.Raw), Active: true, PrivateKeyType: typ, PrivateKeyBits: bits,
		},
		RootKey: keyPEM,
	}
	if err := RenewIntermediate(r, clusterID, c.IntermediateCertTTL); err != nil {
		return nil, err
	}
	return r, nil
}

// RenewIntermediate gives a root a new intermediate certificate that
// signs from now on. The earlier ones stay listed while they are valid,
// so the leaves they signed still verify.
func RenewIntermediate(r *structs.CARootState, clusterID string, ttl time.Duration) error {
	rootKey, err := ParseKey(r.RootKey)
	if err != nil {
		return err
	}
	root, err := ParseCert(r.RootCert)
	if err != nil {
		return err
	}
	key, keyPEM, err := GenerateKey(r.PrivateKeyType, r.PrivateKeyBits)
	if err != nil {
		return err
	}
	notAfter := time.Now().Add(ttl)
	if notAfter.After(root.NotAfter) {
		notAfter = root.NotAfter
	}
	tmpl, err := caTemplate(clusterID, "int", key.Public(), notAfter)
	if err != nil {
		return err
	}
	tmpl.MaxPathLenZero = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
	if err != nil {
		return fmt.Errorf("create intermediate certificate: %w", err)
	}
	kid, err := KeyID(key.Public())
	if err != nil {
		return err
	}
	kept := r.IntermediateCerts[:0:0]
	for _, p := range r.IntermediateCerts {
		if c, err := ParseCert(p); err == nil && time.Now().Before(c.NotAfter) {
			kept = append(kept, p)
		}
	}
	r.IntermediateCerts = append(kept, certPEM(der))
	r.SigningKey = keyPEM
	r.SigningKeyID = colonHex(kid)
	return nil
}

// SigningCert is the intermediate certificate that signs a root's leaves:
// the last one listed.
func SigningCert(r *structs.CARootState) (*x509.Certificate, error) {
	if len(r.IntermediateCerts) == 0 {
		return nil, fmt.Errorf("root %s has no signing certificate", r.ID)
	}
	return ParseCert(r.IntermediateCerts[len(r.IntermediateCerts)-1])
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	da, err1 := x509.MarshalPKIXPublicKey(a)
	db, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(da, db)
}

// ResolveKey takes the key type and size from a configured PrivateKey, so
// that they describe the key in use.
func (c *Config) ResolveKey() error {
	if c.PrivateKey == "" {
		return nil
	}
	key, err := ParseKey(c.PrivateKey)
	if err != nil {
		return fmt.Errorf("CA config: PrivateKey: %w", err)
	}
	c.PrivateKeyType, c.PrivateKeyBits, err = keyInfo(key.Public())
	if err != nil {
		return fmt.Errorf("CA config: PrivateKey: %w", err)
	}
	return nil
}

// Rotates reports whether the configuration asks for another root than
// the active one: another key, another certificate, or a key of another
// type or size.
func (c Config) Rotates(active *structs.CARootState) bool {
	if c.PrivateKeyType != active.PrivateKeyType || c.PrivateKeyBits != active.PrivateKeyBits {
		return true
	}
	if c.PrivateKey != "" {
		k, err1 := ParseKey(c.PrivateKey)
		a, err2 := ParseKey(active.RootKey)
		if err1 != nil || err2 != nil || !publicKeysEqual(k.Public(), a.Public()) {
			return true
		}
	}
	if c.RootCert != "" {
		cert, err := ParseCert(c.RootCert)
		if err != nil || Fingerprint(cert.Raw) != active.ID {
			return true
		}
	}
	return false
}
