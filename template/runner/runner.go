// Package runner is the render loop of `beacon template`: it executes the
// templates against the watcher's data, writes the complete ones whose
// output changed (after their quiescence wait), runs their commands in
// order once per pass, re-reads template sources that change on disk,
// enforces the missing-data policies, and starts and reloads the -exec
// child.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/exec"
	"github.com/beacon-sd/beacon/template/config"
	"github.com/beacon-sd/beacon/template/output"
	"github.com/beacon-sd/beacon/watcher"
	"github.com/beacon-sd/beacon/watcher/consul"
	"github.com/beacon-sd/beacon/watcher/fixture"
)

// Options are what a Runner needs besides its configuration.
type Options struct {
	Logger hclog.Logger
	// Stdout receives -dry output.
	Stdout io.Writer
}

// ChildExit is returned by Run when the -exec child ended; the renderer
// exits with its code.
type ChildExit struct{ Code int }

func (e *ChildExit) Error() string {
	return fmt.Sprintf("the child process exited with code %d", e.Code)
}

// sourceSettle is how long a changed template file must stay unchanged
// before it is read again.
const sourceSettle = 100 * time.Millisecond

// ErrNoTemplates is returned when the configuration has no template.
var ErrNoTemplates = errors.New("no templates configured (use -template or a template block in -config)")

// Runner renders one configuration.
type Runner struct {
	cfg    *config.Config
	log    hclog.Logger
	stdout io.Writer
	client *consul.Client
	w      *watcher.Watcher
	files  *watcher.Files
	tmpls  []*tmpl
	child  *exec.Child
	once   bool
	dry    bool

	quiet   chan quietFire
	dumpReq chan dumpRequest
	// relisted is signalled when a second look at a service list is
	// over; relisting counts those still out, during which no pass runs.
	relisted  chan struct{}
	relisting int
	done      chan struct{}
	started   time.Time
	lastWarn  time.Time
	// unsynced are the replacements of this pass not yet on disk.
	unsynced []output.Pending
	// standby holds the commands run so far, by command.
	standby map[string]*exec.Standby
}

// New checks that every template can be read and parsed and prepares the
// client; nothing is fetched before Run.
func New(cfg *config.Config, o Options) (*Runner, error) {
	if len(cfg.Templates) == 0 {
		return nil, ErrNoTemplates
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	r := &Runner{
		cfg: cfg, log: o.Logger, stdout: o.Stdout,
		once: *cfg.Once, dry: *cfg.Dry,
		quiet: make(chan quietFire, 2*len(cfg.Templates)), dumpReq: make(chan dumpRequest),
		relisted: make(chan struct{}), done: make(chan struct{}),
	}
	for i, tc := range cfg.Templates {
		t, err := newTmpl(i, tc, r)
		if err != nil {
			return nil, err
		}
		r.tmpls = append(r.tmpls, t)
	}
	client, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	client.SetLogger(func(format string, args ...any) { r.log.Info(fmt.Sprintf(format, args...)) })
	r.client = client
	return r, nil
}

func newClient(cfg *config.Config) (*consul.Client, error) {
	cc := consul.Config{
		Address:  *cfg.Consul.Address,
		Token:    *cfg.Consul.Token,
		Protocol: *cfg.Consul.Protocol,
		TLS: consul.TLSConfig{
			Enabled: *cfg.Consul.SSL.Enabled, Verify: *cfg.Consul.SSL.Verify,
			CACert: *cfg.Consul.SSL.CACert, CAPath: *cfg.Consul.SSL.CAPath,
			Cert: *cfg.Consul.SSL.Cert, Key: *cfg.Consul.SSL.Key, ServerName: *cfg.Consul.SSL.ServerName,
		},
	}
	if *cfg.Consul.Auth.Enabled {
		cc.Username, cc.Password = *cfg.Consul.Auth.Username, *cfg.Consul.Auth.Password
	}
	if *cfg.Fixture != "" {
		rt, err := fixture.Load(*cfg.Fixture)
		if err != nil {
			return nil, err
		}
		cc.Transport, cc.Address = rt, "fixture"
	}
	return consul.New(cc)
}

// Child is the -exec child, if one runs; it outlives the runner.
func (r *Runner) Child() *exec.Child { return r.child }

// AdoptChild hands the runner the child of the runner it replaces; call it
// before Run.
func (r *Runner) AdoptChild(c *exec.Child) { r.child = c }

// Dump writes what each template is doing and waiting for to w. It is
// answered by the run loop, so it reflects one consistent moment.
func (r *Runner) Dump(w io.Writer) {
	req := dumpRequest{w: w, done: make(chan struct{})}
	select {
	case r.dumpReq <- req:
		<-req.done
	case <-r.done:
		fmt.Fprintln(w, "beacon template: not running")
	}
}

type dumpRequest struct {
	w    io.Writer
	done chan struct{}
}

// Run renders until ctx ends (nil), a -once run completes (nil), or an
// error stops it. In -once mode every error ends the run; in daemon mode
// template and command errors are logged and the last good files stay.
func (r *Runner) Run(ctx context.Context) error {
	defer close(r.done)
	r.started = time.Now()
	r.w = watcher.New(r.client, watcher.Options{
		Retry: watcher.Retry{
			Enabled: *r.cfg.Consul.Retry.Enabled, Attempts: *r.cfg.Consul.Retry.Attempts,
			Backoff: *r.cfg.Consul.Retry.Backoff, MaxBackoff: *r.cfg.Consul.Retry.MaxBackoff,
		},
		MaxStale:  *r.cfg.MaxStale,
		BlockWait: *r.cfg.BlockWait,
		Once:      r.once,
		Logger:    r.log.Named("watch"),
	})
	defer r.client.Close()
	defer r.w.Stop()
	defer func() {
		st := r.client.Stats()
		r.log.Info("done", "requests", st.Requests, "connections", st.Dialed, "protocol", r.client.Protocol())
	}()
	if !r.once {
		if err := r.watchSources(); err != nil {
			r.log.Warn("template sources will not be watched for changes", "error", err)
		}
	}
	defer func() {
		if r.files != nil {
			r.files.Close()
		}
		for _, s := range r.standby {
			s.Close()
		}
		for _, t := range r.tmpls {
			t.quiet.stop()
			t.spare.Discard()
		}
	}()
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	settle := map[string]bool{}
	settled := false
	settleTimer := time.NewTimer(time.Hour)
	settleTimer.Stop()
	defer settleTimer.Stop()
	for {
		// While a service list is read again, the pass waits for it.
		if r.relisting == 0 {
			onceDone, err := r.step(ctx, &settled)
			if err != nil {
				return err
			}
			if onceDone {
				return r.finishOnce(ctx)
			}
		}
		select {
		case <-ctx.Done():
			if r.once {
				return &WaitError{Templates: r.describeAll(), Interrupted: true}
			}
			return nil
		case <-r.w.Changed():
			changed := r.w.TakeChanged()
			r.markChanged(changed)
			r.relist(changed)
		case <-r.relisted:
			r.relisting--
			r.markChanged(r.w.TakeChanged())
		case err := <-r.w.Errors():
			return err
		case <-r.filesChanged():
			// Let a save settle: an editor's truncate-then-write shows
			// an empty file for a moment.
			for _, p := range r.files.Take() {
				settle[p] = true
			}
			settleTimer.Reset(sourceSettle)
		case <-settleTimer.C:
			paths := make([]string, 0, len(settle))
			for p := range settle {
				paths = append(paths, p)
			}
			settle = map[string]bool{}
			r.reloadSources(paths)
		case f := <-r.quiet:
			if t := r.tmpls[f.idx]; t.quiet.fired(f.gen) {
				t.due = true
			}
		case <-ticker.C:
			if err := r.checkWaits(); err != nil {
				return err
			}
		case req := <-r.dumpReq:
			r.dump(req.w)
			close(req.done)
		case code := <-r.childExited():
			return &ChildExit{Code: code}
		}
	}
}

func (r *Runner) filesChanged() <-chan struct{} {
	if r.files == nil {
		return nil
	}
	return r.files.Changed()
}

func (r *Runner) childExited() <-chan int {
	if r.child == nil {
		return nil
	}
	return r.child.Exited()
}

func (r *Runner) allRendered() bool {
	for _, t := range r.tmpls {
		if !t.rendered {
			return false
		}
	}
	return true
}

// step runs a pass and what follows a complete one: the -exec child
// starts, the memory of the first renders goes back; onceDone reports a
// -once run that has rendered everything.
func (r *Runner) step(ctx context.Context, settled *bool) (onceDone bool, err error) {
	if err := r.pass(ctx); err != nil {
		return false, err
	}
	if !r.allRendered() {
		return false, nil
	}
	if r.once {
		return true, nil
	}
	if err := r.ensureChild(); err != nil {
		return false, err
	}
	if !*settled {
		// The first renders fetched and decoded everything at once;
		// give that memory back before settling down to watch.
		*settled = true
		debug.FreeOSMemory()
	}
	return false, nil
}

// relistTimeout bounds a second look at a service list.
const relistTimeout = 2 * time.Second

// relist reads a service list again, before the next pass, when a
// service's instances went to or from none and the list's view has not yet
// answered from that change: the pass then sees both sides of the one
// catalog write, and renders once.
func (r *Runner) relist(changed map[string]struct{}) {
	if r.once {
		return
	}
	for _, b := range r.w.ListsBehind(changed) {
		r.log.Debug("a service's instances went to or from none; reading the service list again", "dependency", b.Key, "index", b.Index)
		r.relisting++
		r.w.Refresh(b, relistTimeout, func() {
			select {
			case r.relisted <- struct{}{}:
			case <-r.done:
			}
		})
	}
}

// markChanged flags the templates that read any of the changed keys.
func (r *Runner) markChanged(keys map[string]struct{}) {
	for _, t := range r.tmpls {
		for k := range keys {
			if t.used[k] {
				t.dirty = true
				break
			}
		}
	}
}

// finishOnce ends a -once run: with -exec, the child runs to completion (or
// until exec's timeout) and its code becomes the renderer's.
func (r *Runner) finishOnce(ctx context.Context) error {
	if !*r.cfg.Exec.Enabled || r.dry {
		return nil
	}
	if err := r.ensureChild(); err != nil {
		return err
	}
	var timeout <-chan time.Time
	if d := *r.cfg.Exec.Timeout; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case code := <-r.child.Exited():
		return &ChildExit{Code: code}
	case <-timeout:
		r.log.Warn("the child ran past exec timeout; stopping it", "timeout", *r.cfg.Exec.Timeout)
		return &ChildExit{Code: r.child.Stop()}
	case <-ctx.Done():
		return nil
	}
}

// ensureChild starts the -exec child once every template has rendered.
func (r *Runner) ensureChild() error {
	if r.child != nil || !*r.cfg.Exec.Enabled || r.dry {
		return nil
	}
	kill, _ := config.ParseSignal(*r.cfg.Exec.KillSignal)
	var reload syscall.Signal
	if *r.cfg.Exec.ReloadSignal != "" {
		reload, _ = config.ParseSignal(*r.cfg.Exec.ReloadSignal)
	}
	c, err := exec.StartChild(exec.ChildConfig{
		Args: r.cfg.Exec.Command, Shell: *r.cfg.Exec.Shell,
		KillSignal: kill, KillTimeout: *r.cfg.Exec.KillTimeout,
		ReloadSignal: reload, Splay: *r.cfg.Exec.Splay,
		Logger: r.log.Named("exec"),
	})
	if err != nil {
		return err
	}
	r.child = c
	return nil
}
