package template

import (
	"fmt"
	"strings"

	"github.com/beacon-sd/beacon/watcher/dep"
)

// apiFuncs are the functions that read catalog, KV and file data. Each
// records the dependency it reads; while the data is not there it returns
// an empty value and the execution is marked incomplete.
func (t *Template) apiFuncs() map[string]any {
	return map[string]any{
		"service":      t.serviceFunc,
		"services":     t.servicesFunc,
		"key":          t.keyFunc,
		"keyExists":    t.keyExistsFunc,
		"keyOrDefault": t.keyOrDefaultFunc,
		"ls":           func(s string) ([]*dep.KeyPair, error) { return t.listFunc("ls", s, topLevel, false) },
		"safeLs":       func(s string) ([]*dep.KeyPair, error) { return t.listFunc("safeLs", s, topLevel, true) },
		"tree":         func(s string) ([]*dep.KeyPair, error) { return t.listFunc("tree", s, notFolder, false) },
		"safeTree":     func(s string) ([]*dep.KeyPair, error) { return t.listFunc("safeTree", s, notFolder, true) },
		"node":         t.nodeFunc,
		"nodes":        t.nodesFunc,
		"datacenters":  t.datacentersFunc,
		"file":         t.fileFunc,
	}
}

func (t *Template) serviceFunc(args ...string) ([]*dep.HealthService, error) {
	if len(args) == 0 || args[0] == "" {
		return []*dep.HealthService{}, nil
	}
	q, err := t.lookup("service", args, func() (dep.Dependency, error) { return dep.ParseService(args...) })
	if err != nil {
		return nil, err
	}
	v, ok := t.recall(q)
	if !ok {
		return []*dep.HealthService{}, nil
	}
	return as[[]*dep.HealthService](v), nil
}

func (t *Template) servicesFunc(args ...string) ([]*dep.CatalogSnippet, error) {
	q, err := t.lookup("services", args, func() (dep.Dependency, error) { return dep.ParseServices(args...) })
	if err != nil {
		return nil, err
	}
	v, ok := t.recall(q)
	if !ok {
		return []*dep.CatalogSnippet{}, nil
	}
	return as[[]*dep.CatalogSnippet](v), nil
}

// keyPair reads one key; ok is false while there is no data yet.
func (t *Template) keyPair(fn, s string) (query, *dep.KeyPair, bool, error) {
	q, err := t.lookup("key", []string{s}, func() (dep.Dependency, error) { return dep.ParseKey(s) })
	if err != nil {
		return query{}, nil, false, fmt.Errorf("%s: %w", fn, err)
	}
	v, ok := t.recall(q)
	if !ok {
		return q, nil, false, nil
	}
	return q, as[*dep.KeyPair](v), true, nil
}

// keyFunc is `key`: it waits for a key that does not exist, unless the
// template has a default for missing values.
func (t *Template) keyFunc(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	q, p, ok, err := t.keyPair("key", s)
	if err != nil || !ok {
		return "", err
	}
	if p == nil {
		if t.opts.Default != nil {
			return *t.opts.Default, nil
		}
		t.wait(q, "the key does not exist", true)
		return "", nil
	}
	return p.Value, nil
}

func (t *Template) keyExistsFunc(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	_, p, _, err := t.keyPair("keyExists", s)
	return p != nil, err
}

func (t *Template) keyOrDefaultFunc(s, def string) (string, error) {
	if s == "" {
		return def, nil
	}
	_, p, _, err := t.keyPair("keyOrDefault", s)
	if err != nil {
		return "", err
	}
	if p == nil || p.Value == "" {
		return def, nil
	}
	return p.Value, nil
}

// topLevel keeps the keys right under the prefix (what `ls` shows).
func topLevel(p *dep.KeyPair) bool { return p.Key != "" && !strings.Contains(p.Key, "/") }

// notFolder keeps every key but folder markers (what `tree` shows).
func notFolder(p *dep.KeyPair) bool { return p.Key != "" && !strings.HasSuffix(p.Key, "/") }

// listFunc is ls, safeLs, tree and safeTree: one prefix query, filtered.
// The safe variants wait while the result is empty.
func (t *Template) listFunc(fn, s string, keep func(*dep.KeyPair) bool, safe bool) ([]*dep.KeyPair, error) {
	out := []*dep.KeyPair{}
	if s == "" {
		return out, nil
	}
	q, err := t.lookup("prefix", []string{s}, func() (dep.Dependency, error) { return dep.ParsePrefix(s) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	v, ok := t.recall(q)
	if !ok {
		return out, nil
	}
	for _, p := range as[[]*dep.KeyPair](v) {
		if keep(p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 && safe && t.opts.Default == nil {
		t.wait(q, "no keys under the prefix", true)
	}
	return out, nil
}

// nodeFunc is `node`: nil when the node is not in the catalog.
func (t *Template) nodeFunc(args ...string) (*dep.CatalogNode, error) {
	q, err := t.lookup("node", args, func() (dep.Dependency, error) { return dep.ParseNode(args...) })
	if err != nil {
		return nil, err
	}
	v, ok := t.recall(q)
	if !ok {
		return nil, nil
	}
	return as[*dep.CatalogNode](v), nil
}

func (t *Template) nodesFunc(args ...string) ([]*dep.Node, error) {
	q, err := t.lookup("nodes", args, func() (dep.Dependency, error) { return dep.ParseNodes(args...) })
	if err != nil {
		return nil, err
	}
	v, ok := t.recall(q)
	if !ok {
		return []*dep.Node{}, nil
	}
	return as[[]*dep.Node](v), nil
}

// datacentersFunc is `datacenters`, with consul-template's optional flag to
// skip unreachable datacenters: with one datacenter per cluster here there
// is nothing to skip, so the flag is accepted and has no effect.
func (t *Template) datacentersFunc(ignoreFailing ...bool) ([]string, error) {
	if len(ignoreFailing) > 1 {
		return nil, fmt.Errorf("datacenters: want 0 or 1 arguments, got %d", len(ignoreFailing))
	}
	q, _ := t.lookup("datacenters", nil, func() (dep.Dependency, error) { return dep.DatacentersQuery{}, nil })
	v, ok := t.recall(q)
	if !ok {
		return []string{}, nil
	}
	return as[[]string](v), nil
}

func (t *Template) fileFunc(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	q, err := t.lookup("file", []string{path}, func() (dep.Dependency, error) { return dep.ParseFile(path) })
	if err != nil {
		return "", err
	}
	v, ok := t.recall(q)
	if !ok {
		return "", nil
	}
	return as[string](v), nil
}

// as returns v as a T, or T's zero value when v holds something else.
func as[T any](v any) T {
	x, _ := v.(T)
	return x
}
