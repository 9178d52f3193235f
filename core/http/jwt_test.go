package http_test

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

// jwtIssuer signs JWTs with a key made for the test, as an identity
// provider would.
type jwtIssuer struct {
	t      *testing.T
	pubPEM string
	signer jose.Signer
}

func newJWTIssuer(t *testing.T) *jwtIssuer {
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
	return &jwtIssuer{t: t, pubPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), signer: signer}
}

// sign makes a JWT with the standard claims iss, aud and a validity
// window around now, and the private claims given.
func (j *jwtIssuer) sign(iss string, aud []string, from, until time.Time, private map[string]interface{}) string {
	j.t.Helper()
	std := jwt.Claims{Issuer: iss, Audience: aud, IssuedAt: jwt.NewNumericDate(from), NotBefore: jwt.NewNumericDate(from), Expiry: jwt.NewNumericDate(until)}
	s, err := jwt.Signed(j.signer).Claims(std).Claims(private).Serialize()
	if err != nil {
		j.t.Fatal(err)
	}
	return s
}

// valid is a JWT valid now, from issuer "https://idp.test" for audience
// "beacon".
func (j *jwtIssuer) valid(private map[string]interface{}) string {
	now := time.Now()
	return j.sign("https://idp.test", []string{"beacon"}, now.Add(-time.Minute), now.Add(time.Hour), private)
}

// config is the auth method configuration that trusts the issuer.
func (j *jwtIssuer) config() map[string]interface{} {
	return map[string]interface{}{
		"JWTValidationPubKeys": []string{j.pubPEM},
		"BoundIssuer":          "https://idp.test",
		"BoundAudiences":       []string{"beacon"},
		"ClaimMappings":        map[string]string{"service": "service", "team": "team", "/meta/node": "node"},
		"ListClaimMappings":    map[string]string{"groups": "groups"},
	}
}
