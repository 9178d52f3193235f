// Package authmethod checks the credentials a login presents to an auth
// method: it reads and validates an auth method's configuration, verifies
// JWT bearer tokens against it, and turns their claims into the fields
// binding rules select on and the values their bind names interpolate.
package authmethod

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/beacon-sd/beacon/core/structs"
)

// jwtConfig is the configuration of a jwt auth method.
type jwtConfig struct {
	JWTValidationPubKeys []string
	JWTSupportedAlgs     []string
	BoundIssuer          string
	BoundAudiences       []string
	ClaimMappings        map[string]string
	ListClaimMappings    map[string]string
	ExpirationLeeway     time.Duration
	NotBeforeLeeway      time.Duration
	ClockSkewLeeway      time.Duration

	keys []interface{}
	algs []jose.SignatureAlgorithm
}

// unsupportedKeys are jwt configuration keys of Consul that beacon does
// not implement: a method that sets them is refused rather than run
// without them.
var unsupportedKeys = map[string]string{
	"JWKSURL":             "fetching keys from a JWKS URL is not supported; give the keys in JWTValidationPubKeys",
	"JWKSCACert":          "fetching keys from a JWKS URL is not supported; give the keys in JWTValidationPubKeys",
	"OIDCDiscoveryURL":    "OIDC discovery is not supported; give the keys in JWTValidationPubKeys",
	"OIDCDiscoveryCACert": "OIDC discovery is not supported; give the keys in JWTValidationPubKeys",
}

// unsupported says why key is refused, and whether it is one of
// unsupportedKeys.
func unsupported(key string) (string, bool) {
	for name, why := range unsupportedKeys {
		if strings.EqualFold(key, name) {
			return why, true
		}
	}
	return "", false
}

// allAlgs are the signature algorithms JWTSupportedAlgs may name; a
// method without the setting accepts all of them.
var allAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512, jose.EdDSA}

// parseJWTConfig reads and checks a jwt method's configuration.
func parseJWTConfig(raw map[string]interface{}) (*jwtConfig, error) {
	c := &jwtConfig{}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := raw[k]
		var err error
		switch strings.ToLower(k) {
		case "jwtvalidationpubkeys":
			c.JWTValidationPubKeys, err = stringList(v)
		case "jwtsupportedalgs":
			c.JWTSupportedAlgs, err = stringList(v)
		case "boundissuer":
			c.BoundIssuer, err = str(v)
		case "boundaudiences":
			c.BoundAudiences, err = stringList(v)
		case "claimmappings":
			c.ClaimMappings, err = stringMap(v)
		case "listclaimmappings":
			c.ListClaimMappings, err = stringMap(v)
		case "expirationleeway":
			c.ExpirationLeeway, err = duration(v)
		case "notbeforeleeway":
			c.NotBeforeLeeway, err = duration(v)
		case "clockskewleeway":
			c.ClockSkewLeeway, err = duration(v)
		default:
			why, known := unsupported(k)
			if !known {
				return nil, fmt.Errorf("unknown configuration key %q for type %q", k, structs.AuthMethodJWT)
			}
			if !empty(v) { // written out empty, as clients rendering every field do, it is no setting
				err = errors.New(why)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("config %s: %v", k, err)
		}
	}
	if len(c.JWTValidationPubKeys) == 0 {
		return nil, fmt.Errorf("'JWTValidationPubKeys' must be set for type %q", structs.AuthMethodJWT)
	}
	for i, k := range c.JWTValidationPubKeys {
		key, err := parsePublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("error parsing public key JWTValidationPubKeys[%d]: %v", i, err)
		}
		c.keys = append(c.keys, key)
	}
	c.algs = allAlgs
	if len(c.JWTSupportedAlgs) > 0 {
		c.algs = nil
		for _, a := range c.JWTSupportedAlgs {
			if !validAlg(a) {
				return nil, fmt.Errorf("Invalid supported algorithm: %s", a)
			}
			c.algs = append(c.algs, jose.SignatureAlgorithm(a))
		}
	}
	for what, m := range map[string]map[string]string{"ClaimMappings": c.ClaimMappings, "ListClaimMappings": c.ListClaimMappings} {
		seen := map[string]bool{}
		for _, target := range m {
			if seen[target] {
				return nil, fmt.Errorf("%s contains multiple mappings for key %q", what, target)
			}
			seen[target] = true
		}
	}
	return c, nil
}

func validAlg(a string) bool {
	for _, x := range allAlgs {
		if string(x) == a {
			return true
		}
	}
	return false
}

// parsePublicKey reads a PEM public key (PKIX) or certificate with an RSA,
// ECDSA or Ed25519 key.
func parsePublicKey(text string) (interface{}, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, fmt.Errorf("no PEM block found")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		cert, cerr := x509.ParseCertificate(block.Bytes)
		if cerr != nil {
			return nil, fmt.Errorf("neither a public key nor a certificate: %v", err)
		}
		key = cert.PublicKey
	}
	switch key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return key, nil
	}
	return nil, fmt.Errorf("a %T is not an RSA, ECDSA or Ed25519 public key", key)
}

func empty(v interface{}) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case []interface{}:
		return len(x) == 0
	case map[string]interface{}:
		return len(x) == 0
	}
	return false
}

func str(v interface{}) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	}
	return "", fmt.Errorf("want a string, got %s", kind(v))
}

func stringList(v interface{}) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []string:
		return x, nil
	case []interface{}:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %d: want a string, got %s", i, kind(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %s", kind(v))
}

func stringMap(v interface{}) (map[string]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]string:
		return x, nil
	case map[string]interface{}:
		out := make(map[string]string, len(x))
		for k, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("key %q: want a string, got %s", k, kind(e))
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("want an object of strings, got %s", kind(v))
}

// duration reads a duration given as nanoseconds (what clients encoding
// a time.Duration send) or as text such as "30s".
func duration(v interface{}) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > math.MaxInt64 {
			return 0, fmt.Errorf("%v is not a whole number of nanoseconds", x)
		}
		return time.Duration(x), nil
	case json.Number:
		n, err := x.Int64()
		return time.Duration(n), err
	case int:
		return time.Duration(x), nil
	case int64:
		return time.Duration(x), nil
	case string:
		if x == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", x)
		}
		return d, nil
	}
	return 0, fmt.Errorf("want a duration, got %s", kind(v))
}

func kind(v interface{}) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number, int, int64:
		return "a number"
	case []interface{}:
		return "a list"
	case map[string]interface{}:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
