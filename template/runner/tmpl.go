package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/beacon-sd/beacon/template"
	"github.com/beacon-sd/beacon/template/config"
	"github.com/beacon-sd/beacon/template/output"
	"github.com/beacon-sd/beacon/watcher"
)

// tmpl is one configured template and its render state.
type tmpl struct {
	idx    int
	cfg    *config.Template
	policy config.MissingPolicy
	// t is the last source that parsed; a source that later fails to
	// read or parse leaves it in place.
	t      *template.Template
	source string
	path   string // absolute source path, "" for inline contents

	used  map[string]bool    // dependencies of the last execution
	waits []template.Missing // what the last execution waited for
	dirty bool               // data it read changed since
	due   bool               // its quiescence wait is over: write now
	quiet *quiescence

	rendered     bool // the destination holds a complete render
	commandDue   bool // written; its command has not run yet
	writes       int
	lastWrite    time.Time
	lastOutput   []byte // for -dry, which has no file to compare with
	waitingSince time.Time
	reported     bool // a "fail after" for this wait was reported
	lastErr      error
	spare        output.Spare // the staged file of the next write
}

func newTmpl(idx int, tc *config.Template, r *Runner) (*tmpl, error) {
	policy, err := config.ParseMissing(*tc.Missing)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", tc.Name(), err)
	}
	t := &tmpl{idx: idx, cfg: tc, policy: policy, used: map[string]bool{}, dirty: true}
	if *tc.Source != "" {
		if t.path, err = filepath.Abs(*tc.Source); err != nil {
			return nil, fmt.Errorf("template %s: %w", tc.Name(), err)
		}
	}
	src := *tc.Contents
	if t.path != "" {
		b, err := os.ReadFile(t.path)
		if err != nil {
			return nil, fmt.Errorf("template %s: reading the source: %w", tc.Name(), err)
		}
		src = string(b)
	}
	if err := t.parse(src); err != nil {
		return nil, err
	}
	if tc.Wait.Enabled() && !*r.cfg.Once {
		t.quiet = &quiescence{idx: idx, min: *tc.Wait.Min, max: *tc.Wait.Max, ch: r.quiet, done: r.done}
	}
	return t, nil
}

func (t *tmpl) name() string { return t.cfg.Name() }

func (t *tmpl) dest() string { return *t.cfg.Destination }

// outputOptions say how the destination is written.
func (t *tmpl) outputOptions() output.Options {
	o := output.Options{
		Backup: *t.cfg.Backup, CreateDestDirs: *t.cfg.CreateDestDirs, LateSync: true,
		User: *t.cfg.User, Group: *t.cfg.Group, Mode: *t.cfg.WriteMode,
	}
	if t.cfg.Perms != nil {
		o.Perms = *t.cfg.Perms
	}
	return o
}

func (t *tmpl) parse(src string) error {
	o := template.Options{
		LeftDelim: *t.cfg.LeftDelim, RightDelim: *t.cfg.RightDelim,
		ErrMissingKey: *t.cfg.ErrMissingKey, Denylist: t.cfg.Denylist,
	}
	if t.policy.Kind == "default" {
		o.Default = &t.policy.Default
	}
	name := t.name()
	parsed, err := template.New(name, src, o)
	if err != nil {
		return err
	}
	t.t, t.source = parsed, src
	return nil
}

// pendingFirstAnswer reports whether the template waits for a dependency
// that has not answered yet: running it again before then would only
// find it still missing.
func (t *tmpl) pendingFirstAnswer(w *watcher.Watcher, pd *passData) bool {
	for _, m := range t.waits {
		key := m.Dep.String()
		if _, ok := pd.RecallKey(key); ok {
			continue
		}
		if _, watched := w.StatusOf(key); watched {
			return true
		}
	}
	return false
}

// passData is what the templates of one pass read: each dependency's data
// as of its first read in the pass. Data landing mid-pass then reaches
// every template in the next pass, instead of the templates after it in
// this one (whose commands would run a pass before the others').
type passData struct {
	w    *watcher.Watcher
	seen map[string]recalled
}

type recalled struct {
	data any
	ok   bool
}

func newPassData(w *watcher.Watcher) *passData {
	return &passData{w: w, seen: map[string]recalled{}}
}

func (p *passData) RecallKey(key string) (any, bool) {
	if r, ok := p.seen[key]; ok {
		return r.data, r.ok
	}
	data, ok := p.w.RecallKey(key)
	p.seen[key] = recalled{data, ok}
	return data, ok
}

// watchSources starts watching the template files for changes.
func (r *Runner) watchSources() error {
	var paths []string
	for _, t := range r.tmpls {
		if t.path != "" {
			paths = append(paths, t.path)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	f, err := watcher.NewFiles()
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := f.Add(p); err != nil {
			f.Close()
			return err
		}
	}
	r.files = f
	return nil
}

// reloadSources re-reads the templates whose files may have changed. A
// source that was removed or no longer parses keeps the template as it
// was, and its last output stays.
func (r *Runner) reloadSources(paths []string) {
	changed := map[string]bool{}
	for _, p := range paths {
		changed[p] = true
	}
	for _, t := range r.tmpls {
		if t.path == "" || !changed[t.path] {
			continue
		}
		b, err := os.ReadFile(t.path)
		if err != nil {
			if t.lastErr == nil || t.lastErr.Error() != err.Error() {
				r.log.Error("template source unreadable; keeping the last good template and output", "template", t.name(), "error", err)
			}
			t.lastErr = err
			continue
		}
		if string(b) == t.source {
			continue
		}
		if err := t.parse(string(b)); err != nil {
			r.log.Error("template source changed but does not parse; keeping the last good template", "template", t.name(), "error", err)
			t.lastErr = err
			continue
		}
		r.log.Info("template source changed, rendering again", "template", t.name())
		t.lastErr = nil
		t.dirty = true
	}
}
