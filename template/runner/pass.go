package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/exec"
	"github.com/beacon-sd/beacon/template/output"
)

// pass executes every template whose data changed, writes the complete
// ones that are due, then runs the commands of the files it changed, in
// template order, each distinct command once. A -once run keeps the
// commands until every template has rendered and runs them all then.
func (r *Runner) pass(ctx context.Context) error {
	// The pass's replacements go to disk once its commands ran, however
	// it ends.
	defer r.syncPending()
	wrote := false
	pd := newPassData(r.w)
	for _, t := range r.tmpls {
		if !t.dirty && !t.due {
			continue
		}
		if !t.due && t.pendingFirstAnswer(r.w, pd) {
			continue
		}
		due := t.due
		t.dirty, t.due = false, false
		r.log.Trace("executing", "template", t.name(), "due", due)
		changed, err := r.render(t, pd, due)
		if err != nil {
			t.lastErr = err
			if r.once {
				return err
			}
			r.log.Error("render failed; the last good file stays", "template", t.name(), "error", err)
			continue
		}
		t.lastErr = nil
		if !changed {
			continue
		}
		wrote = true
		t.commandDue = len(t.cfg.Command) > 0 && !r.dry
	}
	r.retain()
	if r.once && !r.allRendered() {
		return nil
	}
	var cmds []exec.Command
	seen := map[string]bool{}
	for _, t := range r.tmpls {
		if !t.commandDue {
			continue
		}
		t.commandDue = false
		c := exec.Command{Name: t.name(), Args: t.cfg.Command, Shell: t.cfg.Shell, Timeout: *t.cfg.CommandTimeout}
		if !seen[c.String()] {
			seen[c.String()] = true
			cmds = append(cmds, c)
		}
	}
	var errs []error
	for _, c := range cmds {
		r.log.Info("running command", "template", c.Name, "command", c.String())
		if err := r.runCommand(ctx, c); err != nil {
			r.log.Error("command failed", "template", c.Name, "error", err)
			errs = append(errs, fmt.Errorf("template %s: command %w", c.Name, err))
		}
	}
	if wrote && r.child != nil {
		if err := r.child.Reload(); err != nil {
			r.log.Error("reloading the child failed", "error", err)
		}
	}
	if r.once && len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// runCommand runs a template's command. A daemon keeps a shell waiting
// for each command's next run (see exec.Standby); a -once run starts each
// afresh, as it runs each once.
func (r *Runner) runCommand(ctx context.Context, c exec.Command) error {
	if r.once {
		return exec.Run(ctx, c, r.log.Named("command"))
	}
	key := fmt.Sprintf("%t %s %q", c.Shell, c.Timeout, c.Args)
	s := r.standby[key]
	if s == nil {
		if r.standby == nil {
			r.standby = map[string]*exec.Standby{}
		}
		s = exec.NewStandby(c, r.log.Named("command"))
		r.standby[key] = s
	}
	return s.Run(ctx, c.Name)
}

// render executes t and, when its output is complete and due, writes it.
// changed reports whether the destination (or -dry output) changed.
func (r *Runner) render(t *tmpl, pd *passData, due bool) (changed bool, err error) {
	res, err := t.t.Execute(pd)
	if err != nil {
		return false, err
	}
	t.used = map[string]bool{}
	for _, d := range res.Used {
		t.used[d.String()] = true
		r.w.Add(d)
	}
	t.waits = res.Missing
	if len(res.Missing) > 0 {
		if t.waitingSince.IsZero() {
			t.waitingSince = time.Now()
		}
		if r.once {
			// Views of a -once run answer once; these answered, but
			// without what the template needs: keep watching them.
			for _, m := range res.Missing {
				if m.Fetched {
					r.w.Follow(m.Dep.String())
				}
			}
		}
		return false, nil
	}
	t.waitingSince, t.reported = time.Time{}, false
	if t.quiet != nil && !due {
		t.quiet.tick()
		return false, nil
	}
	t.quiet.reset()
	changed, err = r.write(t, res.Output)
	if err != nil {
		return false, err
	}
	t.rendered = true
	if changed {
		t.writes++
		t.lastWrite = time.Now()
	}
	return changed, nil
}

// write puts out where it belongs: stdout for -dry, else the destination
// through a staged file that the template's check must accept first.
func (r *Runner) write(t *tmpl, out []byte) (bool, error) {
	if r.dry {
		if t.lastOutput != nil && string(t.lastOutput) == string(out) {
			return false, nil
		}
		t.lastOutput = append([]byte(nil), out...)
		if t.dest() != "" {
			fmt.Fprintf(r.stdout, "> %s\n", t.dest())
		}
		_, err := r.stdout.Write(out)
		return true, err
	}
	o := t.outputOptions()
	if !r.once {
		o.Spare = &t.spare
	}
	staged, err := output.Stage(t.dest(), out, o)
	if err != nil || staged == nil {
		return false, err
	}
	defer staged.Discard()
	if check := *t.cfg.Check; check != "" {
		c := exec.Command{
			Name: t.name(), Args: []string{strings.ReplaceAll(check, "{{tmp}}", shellQuote(staged.Path()))},
			Shell: true, Timeout: *t.cfg.CommandTimeout,
		}
		if err := exec.Run(context.Background(), c, r.log.Named("check")); err != nil {
			return false, fmt.Errorf("check rejected the new %s, which was not written: %w", t.dest(), err)
		}
	}
	pending, err := staged.CommitVisible()
	if err != nil {
		return false, err
	}
	r.unsynced = append(r.unsynced, pending) // synced once this pass's commands ran
	r.log.Info("rendered", "template", t.name(), "destination", t.dest())
	return true, nil
}

// syncPending makes this pass's replacements durable. They were visible at
// once; writing them to disk waits until the commands that act on them
// ran, as nothing reads a file sooner for it (on a busy disk a sync takes
// milliseconds).
func (r *Runner) syncPending() {
	for _, p := range r.unsynced {
		p.Sync()
	}
	r.unsynced = r.unsynced[:0]
	if r.once || r.dry {
		return
	}
	// The next render of each written destination finds its staged file
	// made (see output.Spare).
	for _, t := range r.tmpls {
		if t.rendered {
			if err := t.spare.Prepare(t.dest(), t.outputOptions()); err != nil {
				r.log.Debug("no spare staged file", "template", t.name(), "error", err)
			}
		}
	}
}

// retain keeps the views that some template used in its last execution.
func (r *Runner) retain() {
	keep := map[string]bool{}
	for _, t := range r.tmpls {
		for k := range t.used {
			keep[k] = true
		}
	}
	r.w.Retain(keep)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
