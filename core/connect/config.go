// Package connect is the Connect certificate authority: the built-in
// provider's settings, the root and intermediate certificates the leader
// makes, the signing of services' leaf certificates with SPIFFE IDs, and
// the agent's cache of the leaf certificates it hands out.
package connect

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults of the built-in provider, as Consul's.
const (
	DefaultLeafCertTTL         = 72 * time.Hour
	DefaultRootCertTTL         = 10 * 365 * 24 * time.Hour
	DefaultIntermediateCertTTL = 365 * 24 * time.Hour
	DefaultPrivateKeyType      = "ec"
	DefaultPrivateKeyBits      = 256
)

// Config is the built-in provider's configuration.
type Config struct {
	LeafCertTTL         time.Duration
	RootCertTTL         time.Duration
	IntermediateCertTTL time.Duration
	PrivateKeyType      string
	PrivateKeyBits      int
	// PrivateKey and RootCert, when set, are the root to use instead of a
	// generated one (PrivateKey alone: a root made with that key).
	PrivateKey string
	RootCert   string
	// SkipValidate lifts the bounds on the TTLs.
	SkipValidate bool
	// TestState is copied into the configuration's State, as Consul's
	// provider does for its own tests.
	TestState map[string]string
}

// DefaultConfig is the configuration when none is given.
func DefaultConfig() Config {
	return Config{
		LeafCertTTL: DefaultLeafCertTTL, RootCertTTL: DefaultRootCertTTL,
		IntermediateCertTTL: DefaultIntermediateCertTTL,
		PrivateKeyType:      DefaultPrivateKeyType, PrivateKeyBits: DefaultPrivateKeyBits,
	}
}

// fold is how keys are matched: case and underscores do not count, so
// the API's LeafCertTTL and the config file's leaf_cert_ttl are one key.
func fold(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "")) }

// ParseConfig reads a provider configuration as the API and config files
// give it, over the defaults, and checks it. An unknown key is refused by
// name.
func ParseConfig(raw map[string]interface{}) (Config, error) {
	c := DefaultConfig()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bitsSet := false
	for _, k := range keys {
		v := raw[k]
		var err error
		switch fold(k) {
		case "leafcertttl":
			c.LeafCertTTL, err = duration(v)
		case "rootcertttl":
			c.RootCertTTL, err = duration(v)
		case "intermediatecertttl":
			c.IntermediateCertTTL, err = duration(v)
		case "privatekeytype":
			c.PrivateKeyType, err = str(v)
		case "privatekeybits":
			c.PrivateKeyBits, err = integer(v)
			bitsSet = true
		case "privatekey":
			c.PrivateKey, err = str(v)
		case "rootcert":
			c.RootCert, err = str(v)
		case "skipvalidate":
			c.SkipValidate, err = boolean(v)
		case "teststate":
			c.TestState, err = stringMap(v)
		case "csrmaxpersecond", "csrmaxconcurrent":
			var n float64
			if n, err = number(v); err == nil && n != 0 {
				err = fmt.Errorf("rate limits on signing are not supported by beacon; leave it unset or 0")
			}
		case "rotationperiod":
			err = fmt.Errorf("is not supported; rotate the root by setting a new PrivateKey or RootCert")
		default:
			return c, fmt.Errorf("CA config: unknown key %q for the built-in provider (known: LeafCertTTL, RootCertTTL, IntermediateCertTTL, PrivateKeyType, PrivateKeyBits, PrivateKey, RootCert, SkipValidate)", k)
		}
		if err != nil {
			return c, fmt.Errorf("CA config: %s: %v", k, err)
		}
	}
	c.PrivateKeyType = strings.ToLower(c.PrivateKeyType)
	if c.PrivateKeyType == "rsa" && !bitsSet {
		c.PrivateKeyBits = 2048
	}
	return c, c.Validate()
}

// Validate checks the key settings and the TTLs; SkipValidate lifts only
// the TTLs' bounds.
func (c Config) Validate() error {
	switch c.PrivateKeyType {
	case "ec":
		if _, err := curve(c.PrivateKeyBits); err != nil {
			return err
		}
	case "rsa":
		if c.PrivateKeyBits != 2048 && c.PrivateKeyBits != 4096 {
			return fmt.Errorf("CA config: PrivateKeyBits %d: an rsa key must have 2048 or 4096 bits", c.PrivateKeyBits)
		}
	default:
		return fmt.Errorf("CA config: PrivateKeyType %q: must be ec or rsa", c.PrivateKeyType)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"LeafCertTTL", c.LeafCertTTL}, {"RootCertTTL", c.RootCertTTL}, {"IntermediateCertTTL", c.IntermediateCertTTL}} {
		if d.v <= 0 {
			return fmt.Errorf("CA config: %s %v: must be positive", d.name, d.v)
		}
	}
	if c.RootCert != "" && c.PrivateKey == "" {
		return fmt.Errorf("CA config: RootCert needs the PrivateKey it was made with")
	}
	if c.SkipValidate {
		return nil
	}
	if c.LeafCertTTL < time.Hour || c.LeafCertTTL > 365*24*time.Hour {
		return fmt.Errorf("CA config: LeafCertTTL %v: must be between 1h and 8760h (set SkipValidate to go outside)", c.LeafCertTTL)
	}
	if c.IntermediateCertTTL < 3*c.LeafCertTTL {
		return fmt.Errorf("CA config: IntermediateCertTTL %v: must be at least three times LeafCertTTL (%v)", c.IntermediateCertTTL, 3*c.LeafCertTTL)
	}
	if c.RootCertTTL < c.IntermediateCertTTL {
		return fmt.Errorf("CA config: RootCertTTL %v: must not be shorter than IntermediateCertTTL (%v)", c.RootCertTTL, c.IntermediateCertTTL)
	}
	return nil
}

// Map is the configuration as the API shows it and the store keeps it:
// never with the private key, nor the certificate made with it, which the
// roots show.
func (c Config) Map() map[string]interface{} {
	m := map[string]interface{}{
		"LeafCertTTL":         c.LeafCertTTL.String(),
		"RootCertTTL":         c.RootCertTTL.String(),
		"IntermediateCertTTL": c.IntermediateCertTTL.String(),
		"PrivateKeyType":      c.PrivateKeyType,
		"PrivateKeyBits":      c.PrivateKeyBits,
	}
	if c.SkipValidate {
		m["SkipValidate"] = true
	}
	return m
}

func duration(v interface{}) (time.Duration, error) {
	if s, ok := v.(string); ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as \"72h\"", s)
		}
		return d, nil
	}
	n, err := number(v)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as \"72h\" or a number of nanoseconds")
	}
	return time.Duration(n), nil
}

func number(v interface{}) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case json.Number:
		return n.Float64()
	case string:
		return strconv.ParseFloat(n, 64)
	}
	return 0, fmt.Errorf("want a number, got %T", v)
}

func integer(v interface{}) (int, error) {
	n, err := number(v)
	if err != nil {
		return 0, err
	}
	if n != float64(int(n)) {
		return 0, fmt.Errorf("%v is not a whole number", n)
	}
	return int(n), nil
}

func str(v interface{}) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

func boolean(v interface{}) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		return strconv.ParseBool(b)
	}
	return false, fmt.Errorf("want true or false, got %T", v)
}

func stringMap(v interface{}) (map[string]string, error) {
	switch m := v.(type) {
	case map[string]string:
		return m, nil
	case map[string]interface{}:
		out := make(map[string]string, len(m))
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%q: want a string, got %T", k, x)
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("want an object of strings, got %T", v)
}
