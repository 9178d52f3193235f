package template

import (
	"bytes"
	"fmt"
	"sync"
	gotemplate "text/template"

	"github.com/Masterminds/sprig/v3"
)

// sprigPrefix is where every sprig function stays reachable, including
// those whose plain name is taken by a consul-template function with a
// different argument order (split, join, contains, regexReplaceAll, ...).
const sprigPrefix = "sprig_"

// staticFuncs are the functions that do not depend on a template: the
// helpers, math, encoders and sprig. Built once.
var staticFuncs = sync.OnceValue(func() map[string]any {
	m := map[string]any{}
	for _, group := range []map[string]any{helperFuncs(), mathFuncs(), encodeFuncs()} {
		for k, v := range group {
			m[k] = v
		}
	}
	ours := map[string]bool{"scratch": true, "executeTemplate": true}
	for k := range (&Template{}).apiFuncs() {
		ours[k] = true
	}
	for k := range m {
		ours[k] = true
	}
	for name, fn := range sprig.TxtFuncMap() {
		m[sprigPrefix+name] = fn
		if !ours[name] {
			m[name] = fn
		}
	}
	return m
})

// funcMap is every function for one template: the static ones plus those
// bound to the template (API functions, executeTemplate, scratch), with the
// denylisted ones replaced by functions that fail.
func (t *Template) funcMap() gotemplate.FuncMap {
	m := gotemplate.FuncMap{}
	for k, v := range staticFuncs() {
		m[k] = v
	}
	for k, v := range t.apiFuncs() {
		m[k] = v
	}
	m["executeTemplate"] = t.executeTemplate
	m["scratch"] = func() *Scratch {
		if t.st == nil {
			return newScratch()
		}
		if t.st.scratch == nil {
			t.st.scratch = newScratch()
		}
		return t.st.scratch
	}
	for _, name := range t.opts.Denylist {
		name := name
		m[name] = func(...any) (string, error) { return "", fmt.Errorf("function %q is disabled", name) }
	}
	return m
}

// executeTemplate renders a template defined with {{define}} and returns
// the text, with an optional value as its dot.
func (t *Template) executeTemplate(name string, data ...any) (string, error) {
	var dot any
	switch len(data) {
	case 0:
	case 1:
		dot = data[0]
	default:
		return "", fmt.Errorf("executeTemplate: want 1 or 2 arguments, got %d", len(data)+1)
	}
	var b bytes.Buffer
	if err := t.tmpl.ExecuteTemplate(&b, name, dot); err != nil {
		return "", err
	}
	return b.String(), nil
}
