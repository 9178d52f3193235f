// Package jwtissuer signs JWTs for tests, as an identity provider would:
// with a key made for the test, whose public half auth methods trust.
package jwtissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer signs JWTs with an ECDSA P-256 key (ES256).
type Issuer struct {
	t      testing.TB
	PubPEM string // the public key, PEM-encoded PKIX
	signer jose.Signer
}

// New makes an issuer with a fresh key.
func New(t testing.TB) *Issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{t: t, PubPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), signer: signer}
}

// Sign makes a JWT from issuer iss for audiences aud (none when nil),
// issued and valid from from until until, with the private claims given.
func (j *Issuer) Sign(iss string, aud []string, from, until time.Time, private map[string]interface{}) string {
	j.t.Helper()
	std := jwt.Claims{Issuer: iss, Audience: aud, IssuedAt: jwt.NewNumericDate(from), NotBefore: jwt.NewNumericDate(from), Expiry: jwt.NewNumericDate(until)}
	s, err := jwt.Signed(j.signer).Claims(std).Claims(private).Serialize()
	if err != nil {
		j.t.Fatal(err)
	}
	return s
}
