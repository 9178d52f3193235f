package template

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// encodeFuncs convert between text and structures, and hash and encode.
func encodeFuncs() map[string]any {
	return map[string]any{
		"toJSON":                func(v any) (string, error) { return marshalJSON("toJSON", v, "", true) },
		"toJSONPretty":          func(v any) (string, error) { return marshalJSON("toJSONPretty", v, "  ", true) },
		"toUnescapedJSON":       func(v any) (string, error) { return marshalJSON("toUnescapedJSON", v, "", false) },
		"toUnescapedJSONPretty": func(v any) (string, error) { return marshalJSON("toUnescapedJSONPretty", v, "  ", false) },
		"toYAML":                toYAML,
		"toTOML":                toTOML,
		"parseBool":             parseBool,
		"parseFloat":            parseFloat,
		"parseInt":              parseInt,
		"parseUint":             parseUint,
		"parseJSON":             parseJSON,
		"parseYAML":             parseYAML,
		"base64Encode":          func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"base64Decode":          func(s string) (string, error) { return decode64("base64Decode", base64.StdEncoding, s) },
		"base64URLEncode":       func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) },
		"base64URLDecode":       func(s string) (string, error) { return decode64("base64URLDecode", base64.URLEncoding, s) },
		"sha256Hex":             func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) },
		"md5sum":                func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) },
		"plugin":                plugin,
	}
}

// marshalJSON encodes v; escapeHTML false keeps <, > and & as they are.
func marshalJSON(fn string, v any, indent string, escapeHTML bool) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	return strings.TrimSpace(b.String()), nil
}

func toYAML(v any) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("toYAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("toYAML: %w", err)
	}
	return strings.TrimSpace(b.String()), nil
}

func toTOML(v any) (string, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(v); err != nil {
		return "", fmt.Errorf("toTOML: %w", err)
	}
	return strings.TrimSpace(b.String()), nil
}

// The parse functions read "" as the zero value, since a key with no data
// yet renders as "" on a template's first pass.
func parseBool(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("parseBool: %q is not a boolean", s)
	}
	return b, nil
}

func parseFloat(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("parseFloat: %q is not a number", s)
	}
	return f, nil
}

func parseInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parseInt: %q is not an integer", s)
	}
	return n, nil
}

func parseUint(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parseUint: %q is not an unsigned integer", s)
	}
	return n, nil
}

func parseJSON(s string) (any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("parseJSON: %w", err)
	}
	return v, nil
}

func parseYAML(s string) (any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("parseYAML: %w", err)
	}
	return v, nil
}

func decode64(fn string, enc *base64.Encoding, s string) (string, error) {
	b, err := enc.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	return string(b), nil
}

// pluginTimeout bounds a plugin run.
const pluginTimeout = 30 * time.Second

// plugin runs an executable with the given arguments (each trimmed, empty
// ones dropped) and returns its standard output, trimmed.
func plugin(name string, args ...string) (string, error) {
	if name == "" {
		return "", nil
	}
	var argv []string
	for _, a := range args {
		if a = strings.TrimSpace(a); a != "" {
			argv = append(argv, a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), pluginTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("plugin %s: did not finish within %s", name, pluginTimeout)
		}
		return "", fmt.Errorf("plugin %s: %v: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
