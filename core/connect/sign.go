package connect

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net/url"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// NewLeafRequest makes a service's private key and a certificate signing
// request for its SPIFFE ID, both in PEM.
func NewLeafRequest(uri *url.URL, service, keyType string, bits int) (keyPEM, csrPEM string, err error) {
	key, keyPEM, err := GenerateKey(keyType, bits)
	if err != nil {
		return "", "", err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: service},
		URIs:    []*url.URL{uri},
	}, key)
	if err != nil {
		return "", "", fmt.Errorf("create certificate request: %w", err)
	}
	return keyPEM, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// ParseCSR reads and checks a PEM certificate signing request.
func ParseCSR(s string) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("CSR: no PEM certificate request found")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("CSR: bad signature: %w", err)
	}
	return csr, nil
}

// SignLeaf signs a service's CSR with the root's current intermediate for
// ttl (at most until the intermediate expires). CertPEM is the leaf
// followed by that intermediate.
func SignLeaf(r *structs.CARootState, csr *x509.CertificateRequest, service string, ttl time.Duration) (*structs.IssuedCert, error) {
	signer, err := ParseKey(r.SigningKey)
	if err != nil {
		return nil, err
	}
	issuer, err := SigningCert(r)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	kid, err := KeyID(csr.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("CSR: %w", err)
	}
	now := time.Now()
	notAfter := now.Add(ttl)
	if notAfter.After(issuer.NotAfter) {
		notAfter = issuer.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: service},
		URIs:                  csr.URIs,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		SubjectKeyId:          kid,
		AuthorityKeyId:        issuer.SubjectKeyId,
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, csr.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("sign leaf certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &structs.IssuedCert{
		SerialNumber: SerialString(cert.SerialNumber),
		CertPEM:      certPEM(der) + r.IntermediateCerts[len(r.IntermediateCerts)-1],
		Service:      service,
		ServiceURI:   csr.URIs[0].String(),
		ValidAfter:   cert.NotBefore.UTC(),
		ValidBefore:  cert.NotAfter.UTC(),
		RootID:       r.ID,
	}, nil
}
