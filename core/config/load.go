package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/hcl"

	"github.com/beacon-sd/beacon/core/decode"
)

// Source is one piece of configuration: a file, an -hcl snippet or the
// flags.
type Source struct {
	Name   string
	Format string // "json" or "hcl"
	Data   []byte
}

var configType = reflect.TypeOf(Config{})

// parse turns a source into a normalized key map, rejecting unknown keys.
func (s Source) parse() (map[string]interface{}, error) {
	var raw interface{}
	if len(bytes.TrimSpace(s.Data)) == 0 {
		// An empty file is an empty config, in either format.
		return map[string]interface{}{}, nil
	}
	switch s.Format {
	case "json":
		if err := json.Unmarshal(s.Data, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
	case "hcl":
		var m map[string]interface{}
		if err := hcl.Unmarshal(s.Data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		raw = m
	default:
		return nil, fmt.Errorf("%s: unknown config format %q (want json or hcl)", s.Name, s.Format)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	norm, err := decode.Normalize(raw, configType, "", true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	m, ok := norm.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: the top level must be an object", s.Name)
	}
	// Type errors are reported here, where the file is still known.
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	if err := json.Unmarshal(b, new(Config)); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, decode.TypeError(err))
	}
	// A single "service" or "check" in each of several files must add up,
	// not merge field by field: keep them as list entries.
	for single, list := range map[string]string{"service": "services", "check": "checks"} {
		if v, ok := m[single]; ok {
			prev, _ := m[list].([]interface{})
			m[list] = append([]interface{}{v}, prev...)
			delete(m, single)
		}
	}
	return m, nil
}

// ReadSources reads config files and directories. A directory contributes
// its *.json and *.hcl files in lexical order; other files in it are
// skipped, as Consul does. format forces the format of every file.
func ReadSources(paths []string, format string) ([]Source, error) {
	var out []Source
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if !fi.IsDir() {
			src, err := readFile(p, format, true)
			if err != nil {
				return nil, err
			}
			out = append(out, src)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("config dir %s: %w", p, err)
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			fp := filepath.Join(p, n)
			st, err := os.Stat(fp)
			if err != nil || st.IsDir() {
				continue
			}
			src, err := readFile(fp, format, false)
			if err != nil {
				return nil, err
			}
			if src.Format != "" {
				out = append(out, src)
			}
		}
	}
	return out, nil
}

// readFile reads one config file; explicit files of unknown extension are an
// error, files found in a directory are skipped (empty Format).
func readFile(path, format string, explicit bool) (Source, error) {
	f := format
	if f == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".json":
			f = "json"
		case ".hcl":
			f = "hcl"
		default:
			if !explicit {
				return Source{}, nil
			}
			return Source{}, fmt.Errorf("config file %s: cannot tell its format from the extension; name it .json or .hcl, or pass -config-format", path)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Source{}, fmt.Errorf("config file: %w", err)
	}
	return Source{Name: path, Format: f, Data: data}, nil
}

// Build merges sources in order over the defaults (and the -dev defaults
// when dev is set) and validates the result. Later sources win for single
// values; lists (services, checks, retry_join, ...) accumulate; objects merge
// key by key.
func Build(dev bool, sources []Source) (*Config, error) {
	merged := map[string]interface{}{}
	for _, src := range sources {
		m, err := src.parse()
		if err != nil {
			return nil, err
		}
		mergeInto(merged, m)
	}
	cfg := Default()
	if dev {
		applyDev(cfg)
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if dev {
		cfg.DevMode = true
	}
	if err := cfg.finalize(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func mergeInto(dst, src map[string]interface{}) {
	for k, v := range src {
		switch sv := v.(type) {
		case map[string]interface{}:
			if dv, ok := dst[k].(map[string]interface{}); ok {
				mergeInto(dv, sv)
				continue
			}
			cp := map[string]interface{}{}
			mergeInto(cp, sv)
			dst[k] = cp
		case []interface{}:
			if dv, ok := dst[k].([]interface{}); ok {
				dst[k] = append(dv, sv...)
				continue
			}
			dst[k] = append([]interface{}{}, sv...)
		default:
			dst[k] = v
		}
	}
}

// applyDev sets what -dev changes before any file is read.
func applyDev(c *Config) {
	c.Server = true
	c.Bootstrap = true
	c.BindAddr = "127.0.0.1"
	c.ClientAddr = "127.0.0.1"
	c.UI = true
	c.DisableAnonSignature = true
	c.DisableKeyringFile = true
	c.EnableDebug = true
}
