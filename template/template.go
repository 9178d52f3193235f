// Package template is beacon's template language: Go text/template with
// consul-template's functions (service, key, tree, ... and its helpers),
// Masterminds/sprig under its own names where they do not collide and
// under a sprig_ prefix always. Executing a template against the data the
// watcher has reports which dependencies it used and which it still waits
// for, so a file is written only once every dependency has data.
package template

import (
	"bytes"
	"errors"
	"sort"
	"strings"
	gotemplate "text/template"

	"github.com/beacon-sd/beacon/watcher/dep"
)

// Recaller is where executions read dependency data: the watcher, or a
// map in tests.
type Recaller interface {
	// RecallKey returns the data of the dependency whose String is key,
	// and false when there is none yet.
	RecallKey(key string) (any, bool)
}

// Options shape how a template is parsed and executed.
type Options struct {
	// LeftDelim and RightDelim replace "{{" and "}}" when set.
	LeftDelim, RightDelim string
	// ErrMissingKey makes a missing map key or field an error instead of
	// an empty value.
	ErrMissingKey bool
	// Denylist names functions that fail when called.
	Denylist []string
	// Default, when set, stands in for values that do not exist (a key
	// that does not exist, an empty safeLs/safeTree) instead of waiting
	// for them.
	Default *string
}

// Missing is a dependency an execution waits for, and why.
type Missing struct {
	Dep    dep.Dependency
	Reason string
	// Fetched is true when the data is there but does not have what the
	// template needs (a key that does not exist), false when no answer
	// has come yet.
	Fetched bool
}

// Result is what one execution produced.
type Result struct {
	Output []byte
	// Used lists the dependencies the execution read, in first-use order.
	Used []dep.Dependency
	// Missing lists those it waits for; when not empty, Output is
	// incomplete and must not be written.
	Missing []Missing
}

// Template is a parsed template. Executions of one Template must not run
// concurrently.
type Template struct {
	name string
	opts Options
	tmpl *gotemplate.Template
	// queries caches parsed function arguments: a template that calls
	// `service .Name` for a thousand services parses each once.
	queries map[string]query
	st      *execution
}

// query is a parsed dependency with its key.
type query struct {
	d   dep.Dependency
	key string
}

// execution is the state of one Execute.
type execution struct {
	r       Recaller
	used    map[string]bool
	order   []dep.Dependency
	missing map[string]bool
	waits   []Missing
	scratch *Scratch
}

// ErrParse is matched (errors.Is) by parse errors.
var ErrParse = errors.New("template parse error")

// parseError keeps text/template's message ("template: <file>:<line>: ...")
// and matches ErrParse.
type parseError struct{ err error }

func (e parseError) Error() string        { return e.err.Error() }
func (e parseError) Unwrap() error        { return e.err }
func (e parseError) Is(target error) bool { return target == ErrParse }

// New parses contents. name (the source path) appears in error messages
// with the line of the error.
func New(name, contents string, o Options) (*Template, error) {
	t := &Template{name: name, opts: o, queries: map[string]query{}}
	tmpl := gotemplate.New(name).Delims(o.LeftDelim, o.RightDelim)
	if o.ErrMissingKey {
		tmpl.Option("missingkey=error")
	} else {
		tmpl.Option("missingkey=zero")
	}
	tmpl.Funcs(t.funcMap())
	if _, err := tmpl.Parse(contents); err != nil {
		return nil, parseError{err}
	}
	t.tmpl = tmpl
	return t, nil
}

// Name is the name the template was parsed with.
func (t *Template) Name() string { return t.name }

// Execute renders the template with the data r has now.
func (t *Template) Execute(r Recaller) (*Result, error) {
	t.st = &execution{r: r, used: map[string]bool{}, missing: map[string]bool{}}
	defer func() { t.st = nil }()
	var buf bytes.Buffer
	if err := t.tmpl.Execute(&buf, nil); err != nil {
		return nil, err
	}
	st := t.st
	return &Result{Output: buf.Bytes(), Used: st.order, Missing: st.waits}, nil
}

// lookup parses a function's arguments into a dependency once per template.
func (t *Template) lookup(fn string, args []string, parse func() (dep.Dependency, error)) (query, error) {
	k := fn + "\x00" + strings.Join(args, "\x00")
	if q, ok := t.queries[k]; ok {
		return q, nil
	}
	d, err := parse()
	if err != nil {
		return query{}, err
	}
	q := query{d: d, key: d.String()}
	t.queries[k] = q
	return q, nil
}

// recall marks q used and returns its data; data that is not there yet
// marks q missing.
func (t *Template) recall(q query) (any, bool) {
	st := t.st
	if !st.used[q.key] {
		st.used[q.key] = true
		st.order = append(st.order, q.d)
	}
	v, ok := st.r.RecallKey(q.key)
	if !ok {
		t.wait(q, "no data yet", false)
	}
	return v, ok
}

// wait records that the execution waits for q.
func (t *Template) wait(q query, reason string, fetched bool) {
	st := t.st
	if st.missing[q.key] {
		return
	}
	st.missing[q.key] = true
	st.waits = append(st.waits, Missing{Dep: q.d, Reason: reason, Fetched: fetched})
}

// MapRecaller is a Recaller over a map, for tests and fixtures.
type MapRecaller map[string]any

// RecallKey implements Recaller.
func (m MapRecaller) RecallKey(key string) (any, bool) {
	v, ok := m[key]
	return v, ok
}

// FuncNames lists every function a template can call, sorted.
func FuncNames() []string {
	t := &Template{queries: map[string]query{}}
	m := t.funcMap()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
