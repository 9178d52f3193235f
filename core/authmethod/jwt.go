package authmethod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/beacon-sd/beacon/core/structs"
)

// Identity is what a login proved: the claim values and lists the
// method's ClaimMappings and ListClaimMappings name. Binding rules'
// selectors read them as value.<name> and list.<name>.
type Identity struct {
	Values map[string]string   `bexpr:"value"`
	Lists  map[string][]string `bexpr:"list"`
}

// Vars are the variables a bind name may interpolate: value.<name> for
// every mapped value.
func (id *Identity) Vars() map[string]string {
	out := make(map[string]string, len(id.Values))
	for k, v := range id.Values {
		out["value."+k] = v
	}
	return out
}

// Validator checks the bearer tokens of one auth method.
type Validator interface {
	// Validate returns the identity a bearer token proves, or why it
	// proves none.
	Validate(ctx context.Context, bearer string) (*Identity, error)
	// Blank is an identity with every mapped name and no values: what
	// binding rules are checked against when they are written.
	Blank() *Identity
}

// LoginError is a bearer token the method did not accept.
type LoginError struct{ Reason string }

func (e *LoginError) Error() string { return e.Reason }

// New checks an auth method's type and configuration and returns its
// validator.
func New(m *structs.ACLAuthMethod) (Validator, error) {
	switch m.Type {
	case structs.AuthMethodJWT:
		c, err := parseJWTConfig(m.Config)
		if err != nil {
			return nil, err
		}
		return &jwtValidator{cfg: c, now: time.Now}, nil
	case structs.AuthMethodKubernetes:
		return nil, fmt.Errorf("Type %q is not supported by beacon: it validates Kubernetes service account tokens against a Kubernetes API server, which beacon does not talk to; use type %q with the cluster's service account issuer keys", m.Type, structs.AuthMethodJWT)
	case "oidc", "aws-iam":
		return nil, fmt.Errorf("Type %q is not supported by beacon; use type %q", m.Type, structs.AuthMethodJWT)
	}
	return nil, fmt.Errorf("Type should be one of: [%s]", structs.AuthMethodJWT)
}

type jwtValidator struct {
	cfg *jwtConfig
	now func() time.Time
}

// defaultLeeway is the expiration and not-before leeway of tokens that
// lack those claims.
const defaultLeeway = 150 * time.Second

// defaultClockSkew is the clock skew allowed when no ClockSkewLeeway is
// set.
const defaultClockSkew = time.Minute

func (v *jwtValidator) Blank() *Identity {
	id := &Identity{Values: map[string]string{}, Lists: map[string][]string{}}
	for _, k := range v.cfg.ClaimMappings {
		id.Values[k] = ""
	}
	for _, k := range v.cfg.ListClaimMappings {
		id.Lists[k] = nil
	}
	return id
}

func (v *jwtValidator) Validate(ctx context.Context, bearer string) (*Identity, error) {
	if bearer == "" {
		return nil, &LoginError{"missing bearer token"}
	}
	tok, err := jwt.ParseSigned(bearer, v.cfg.algs)
	if err != nil {
		return nil, &LoginError{fmt.Sprintf("bearer token is not a JWT signed with one of %v: %v", v.cfg.algs, err)}
	}
	var claims jwt.Claims
	var all map[string]interface{}
	verified := false
	for _, key := range v.cfg.keys {
		if err := tok.Claims(key, &claims, &all); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, &LoginError{"no known key successfully validated the token signature"}
	}
	if err := v.checkClaims(&claims); err != nil {
		return nil, &LoginError{err.Error()}
	}
	return v.identity(all)
}

// checkClaims checks a token's times, issuer and audience.
func (v *jwtValidator) checkClaims(c *jwt.Claims) error {
	secs := func(d *jwt.NumericDate) int64 {
		if d == nil {
			return 0
		}
		return int64(*d)
	}
	iat, exp, nbf := secs(c.IssuedAt), secs(c.Expiry), secs(c.NotBefore)
	if iat == 0 && exp == 0 && nbf == 0 {
		return errors.New("token has no issue time, not-before time or expiration time")
	}
	if exp == 0 {
		exp = max(iat, nbf) + int64(leeway(v.cfg.ExpirationLeeway, defaultLeeway).Seconds())
	}
	if nbf == 0 {
		if iat != 0 {
			nbf = iat
		} else {
			nbf = exp - int64(leeway(v.cfg.NotBeforeLeeway, defaultLeeway).Seconds())
		}
	}
	skew := leeway(v.cfg.ClockSkewLeeway, defaultClockSkew)
	now := v.now()
	if b := v.cfg.BoundIssuer; b != "" && c.Issuer != b {
		return fmt.Errorf("token issuer %q is not the bound issuer %q", c.Issuer, b)
	}
	if now.Add(-skew).After(time.Unix(exp, 0)) {
		return fmt.Errorf("token is expired (it expired at %s)", time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	if now.Add(skew).Before(time.Unix(nbf, 0)) {
		return fmt.Errorf("token is not valid yet (not before %s)", time.Unix(nbf, 0).UTC().Format(time.RFC3339))
	}
	if iat != 0 && now.Add(skew).Before(time.Unix(iat, 0)) {
		return fmt.Errorf("token is issued in the future (at %s)", time.Unix(iat, 0).UTC().Format(time.RFC3339))
	}
	bound := v.cfg.BoundAudiences
	switch {
	case len(bound) == 0 && len(c.Audience) > 0:
		return fmt.Errorf("token has audience %q but the auth method binds no audiences", []string(c.Audience))
	case len(bound) > 0:
		for _, a := range bound {
			if c.Audience.Contains(a) {
				return nil
			}
		}
		return fmt.Errorf("token audience %q matches none of the bound audiences %q", []string(c.Audience), bound)
	}
	return nil
}

// leeway is a configured leeway: the default when zero, none when
// negative.
func leeway(set, dflt time.Duration) time.Duration {
	switch {
	case set < 0:
		return 0
	case set == 0:
		return dflt
	}
	return set
}

// identity maps a token's claims to the values and lists the method
// names.
func (v *jwtValidator) identity(all map[string]interface{}) (*Identity, error) {
	id := v.Blank()
	for src, target := range v.cfg.ClaimMappings {
		raw, ok := claim(all, src)
		if !ok {
			continue
		}
		s, ok := stringify(raw)
		if !ok {
			return nil, &LoginError{fmt.Sprintf("claim %q is %s, not a string, number or boolean", src, kind(raw))}
		}
		id.Values[target] = s
	}
	for src, target := range v.cfg.ListClaimMappings {
		raw, ok := claim(all, src)
		if !ok {
			continue
		}
		list, isList := raw.([]interface{})
		if !isList {
			list = []interface{}{raw}
		}
		var out []string
		for _, e := range list {
			s, ok := stringify(e)
			if !ok {
				return nil, &LoginError{fmt.Sprintf("list claim %q holds %s, not a string, number or boolean", src, kind(e))}
			}
			if s != "" {
				out = append(out, s)
			}
		}
		id.Lists[target] = out
	}
	return id, nil
}

// claim finds a claim by name, or by JSON pointer when src starts with
// "/".
func claim(all map[string]interface{}, src string) (interface{}, bool) {
	if !strings.HasPrefix(src, "/") {
		v, ok := all[src]
		return v, ok && v != nil
	}
	var cur interface{} = all
	for _, part := range strings.Split(src[1:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]interface{}:
			v, ok := c[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []interface{}:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, cur != nil
}

func stringify(v interface{}) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatInt(int64(x), 10), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}
