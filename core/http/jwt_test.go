package http_test

import (
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/jwtissuer"
)

// jwtIssuer signs JWTs as the identity provider the tests' auth methods
// trust.
type jwtIssuer struct {
	*jwtissuer.Issuer
}

func newJWTIssuer(t *testing.T) *jwtIssuer { return &jwtIssuer{jwtissuer.New(t)} }

// sign makes a JWT with the standard claims iss, aud and a validity
// window, and the private claims given.
func (j *jwtIssuer) sign(iss string, aud []string, from, until time.Time, private map[string]interface{}) string {
	return j.Sign(iss, aud, from, until, private)
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
		"JWTValidationPubKeys": []string{j.PubPEM},
		"BoundIssuer":          "https://idp.test",
		"BoundAudiences":       []string{"beacon"},
		"ClaimMappings":        map[string]string{"service": "service", "team": "team", "/meta/node": "node"},
		"ListClaimMappings":    map[string]string{"groups": "groups"},
	}
}
