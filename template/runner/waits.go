package runner

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/template"
)

// quiescence delays a template's write until its data has been still for
// min, but no longer than max after the first change.
type quiescence struct {
	idx      int
	min, max time.Duration
	ch       chan<- quietFire
	done     <-chan struct{}

	gen      int
	timer    *time.Timer
	deadline time.Time
}

// quietFire tells the loop that a template's wait is over; gen tells a
// current timer from one that was replaced.
type quietFire struct{ idx, gen int }

// tick records a change: the write moves to min from now, capped at max
// after the first change of the burst.
func (q *quiescence) tick() {
	now := time.Now()
	if q.deadline.IsZero() {
		q.deadline = now.Add(q.max)
	}
	at := now.Add(q.min)
	if at.After(q.deadline) {
		at = q.deadline
	}
	if q.timer != nil {
		q.timer.Stop()
	}
	q.gen++
	f := quietFire{idx: q.idx, gen: q.gen}
	q.timer = time.AfterFunc(time.Until(at), func() {
		select {
		case q.ch <- f:
		case <-q.done:
		}
	})
}

// fired reports whether gen is the current timer, and ends the burst.
func (q *quiescence) fired(gen int) bool {
	if q == nil || gen != q.gen {
		return false
	}
	q.deadline = time.Time{}
	return true
}

// reset forgets a pending burst (the template was written anyway).
func (q *quiescence) reset() {
	if q == nil {
		return
	}
	if q.timer != nil {
		q.timer.Stop()
	}
	q.gen++
	q.deadline = time.Time{}
}

func (q *quiescence) stop() {
	if q != nil && q.timer != nil {
		q.timer.Stop()
	}
}

// WaitError is returned when a template's "fail after" time passed with
// data still missing, or a -once run was interrupted before every
// template rendered; it lists what each template waits for.
type WaitError struct {
	Templates   []string // one line per template with its waits
	Interrupted bool
}

func (e *WaitError) Error() string {
	head := "templates still wait for data"
	if e.Interrupted {
		head = "interrupted before every template rendered"
	}
	if len(e.Templates) == 0 {
		return head
	}
	return head + ":\n  " + strings.Join(e.Templates, "\n  ")
}

// warnEvery spaces the warnings about templates that block on data.
const warnEvery = 30 * time.Second

// firstWarn is how long a template may wait before the first warning.
const firstWarn = 10 * time.Second

// checkWaits applies the "fail after" policies and warns about templates
// that have been waiting a while, so that nothing waits silently.
func (r *Runner) checkWaits() error {
	now := time.Now()
	var failed []string
	var waiting []string
	for _, t := range r.tmpls {
		if t.waitingSince.IsZero() || len(t.waits) == 0 {
			continue
		}
		since := now.Sub(t.waitingSince)
		if t.policy.Kind == "fail" && since >= t.policy.After && !t.reported {
			failed = append(failed, r.describeWaits(t))
			t.reported = true
			continue
		}
		if since >= firstWarn {
			waiting = append(waiting, r.describeWaits(t))
		}
	}
	if len(failed) > 0 {
		err := &WaitError{Templates: failed}
		if r.once {
			return err
		}
		r.log.Error(err.Error())
	}
	if len(waiting) > 0 && now.Sub(r.lastWarn) >= warnEvery {
		r.lastWarn = now
		r.log.Warn("templates still wait for data (send SIGUSR1 for a full status):\n  " + strings.Join(waiting, "\n  "))
	}
	return nil
}

// describeAll describes the waits of every template not rendered yet.
func (r *Runner) describeAll() []string {
	var out []string
	for _, t := range r.tmpls {
		if !t.rendered && len(t.waits) > 0 {
			out = append(out, r.describeWaits(t))
		}
	}
	return out
}

// describeWaits is one line: the template and each dependency it waits
// for, with why.
func (r *Runner) describeWaits(t *tmpl) string {
	parts := make([]string, 0, len(t.waits))
	for _, m := range t.waits {
		parts = append(parts, r.describeMissing(m))
	}
	return fmt.Sprintf("%s (waiting %s): %s", t.name(), time.Since(t.waitingSince).Round(time.Second), strings.Join(parts, "; "))
}

func (r *Runner) describeMissing(m template.Missing) string {
	key := m.Dep.String()
	s := key + ": " + m.Reason
	if st, ok := r.w.StatusOf(key); ok && st.LastErr != nil {
		s += fmt.Sprintf(" (last error: %v; %d failures)", st.LastErr, st.Failures)
	}
	return s
}

// dump writes the status of every template and the watcher.
func (r *Runner) dump(w io.Writer) {
	st := r.client.Stats()
	fmt.Fprintf(w, "beacon template status (pid %d, up %s)\n", os.Getpid(), time.Since(r.started).Round(time.Second))
	fmt.Fprintf(w, "  api %s via %s: %d watches, %d requests, %d connections open (%d opened)\n",
		r.client.Address(), orDash(r.client.Protocol()), r.w.Size(), st.Requests, st.Open, st.Dialed)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "  memory: heap %.1f MB in use, stacks %.1f MB, %d goroutines, %.1f MB from the OS\n",
		float64(ms.HeapInuse)/(1<<20), float64(ms.StackInuse)/(1<<20), runtime.NumGoroutine(), float64(ms.Sys)/(1<<20))
	for _, t := range r.tmpls {
		dest := t.dest()
		if dest == "" {
			dest = "stdout"
		}
		fmt.Fprintf(w, "template %s -> %s\n", t.name(), dest)
		switch {
		case t.rendered && t.writes > 0:
			fmt.Fprintf(w, "  rendered; written %d times, last %s ago\n", t.writes, time.Since(t.lastWrite).Round(time.Second))
		case t.rendered:
			fmt.Fprintln(w, "  rendered; the destination already held this content")
		default:
			fmt.Fprintln(w, "  not rendered yet")
		}
		fmt.Fprintf(w, "  uses %d dependencies\n", len(t.used))
		if t.lastErr != nil {
			fmt.Fprintf(w, "  last error: %v\n", t.lastErr)
		}
		if len(t.waits) > 0 {
			fmt.Fprintf(w, "  waiting %s for:\n", time.Since(t.waitingSince).Round(time.Second))
			waits := make([]string, 0, len(t.waits))
			for _, m := range t.waits {
				waits = append(waits, r.describeMissing(m))
			}
			sort.Strings(waits)
			for _, s := range waits {
				fmt.Fprintf(w, "    %s\n", s)
			}
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "(not connected)"
	}
	return s
}
