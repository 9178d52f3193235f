// Package config is the configuration of `beacon template`: consul-template's
// config files (HCL or JSON, files or directories), its command-line flags
// and its environment variables, merged into one Config. Fields are
// pointers so that "not set" and "set to the zero value" differ when a
// later source is merged over an earlier one; Finalize fills the defaults.
package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is the whole configuration.
type Config struct {
	Consul    Consul
	Templates []*Template
	// Wait is the default quiescence of every template.
	Wait         Wait
	MaxStale     *time.Duration
	BlockWait    *time.Duration
	LogLevel     *string
	PidFile      *string
	Syslog       Syslog
	Exec         Exec
	Dedup        Dedup
	KillSignal   *string
	ReloadSignal *string
	// DefaultDelims are the delimiters of templates that set none.
	DefaultDelims Delims
	// Missing is the default missing-data policy of every template.
	Missing *string
	// Fixture, when set, is a JSON file of catalog and KV data read
	// instead of a server.
	Fixture *string
	Once    *bool
	Dry     *bool
}

// Consul is how to reach the API.
type Consul struct {
	Address *string
	Token   *string
	Auth    Auth
	SSL     SSL
	Retry   Retry
	// Protocol is "auto" (h2c, falling back to HTTP/1.1), "h2c" or
	// "http1".
	Protocol *string
}

// Auth is HTTP basic authentication.
type Auth struct {
	Enabled  *bool
	Username *string
	Password *string
}

// SSL is HTTPS to the API.
type SSL struct {
	Enabled    *bool
	Verify     *bool
	Cert       *string
	Key        *string
	CACert     *string
	CAPath     *string
	ServerName *string
}

// Retry is how failed reads are retried.
type Retry struct {
	Enabled    *bool
	Attempts   *int
	Backoff    *time.Duration
	MaxBackoff *time.Duration
}

// Wait is quiescence: render Min after the last change, at most Max after
// the first.
type Wait struct {
	Min *time.Duration
	Max *time.Duration
}

// Enabled reports whether w asks for any quiescence.
func (w Wait) Enabled() bool { return w.Min != nil && *w.Min > 0 }

// Syslog sends the log to syslog.
type Syslog struct {
	Enabled  *bool
	Facility *string
	Name     *string
}

// Exec is a supervised child process.
type Exec struct {
	Enabled      *bool
	Command      []string
	Shell        *bool // Command is one string run with sh -c
	KillSignal   *string
	KillTimeout  *time.Duration
	ReloadSignal *string
	Splay        *time.Duration
	Timeout      *time.Duration
}

// Dedup is consul-template's de-duplication mode, accepted for
// compatibility (see the README).
type Dedup struct {
	Enabled  *bool
	Prefix   *string
	TTL      *time.Duration
	MaxStale *time.Duration
}

// Delims are template delimiters.
type Delims struct {
	Left, Right *string
}

// Template is one template to render.
type Template struct {
	Source      *string
	Destination *string
	Contents    *string
	// Command runs after the file changed: with Shell, Command[0] through
	// sh -c; without, as an argument list.
	Command        []string
	Shell          bool
	CommandTimeout *time.Duration
	Perms          *os.FileMode
	Backup         *bool
	CreateDestDirs *bool
	LeftDelim      *string
	RightDelim     *string
	ErrMissingKey  *bool
	Wait           Wait
	User           *string
	Group          *string
	Denylist       []string
	// Check runs against the freshly rendered temp file before it
	// replaces the destination; "{{tmp}}" in it is that file's path.
	Check *string
	// WriteMode is "rename" (atomic) or "inplace" (same inode).
	WriteMode *string
	// Missing is the missing-data policy; see ParseMissing.
	Missing *string
	// Origin says where the template was configured, for messages.
	Origin string
}

// Name is how messages refer to the template: its source, or its origin
// for inline contents.
func (t *Template) Name() string {
	if t.Source != nil && *t.Source != "" {
		return *t.Source
	}
	return t.Origin
}

// Merge returns c with o laid over it: o's set fields win, templates add
// up.
func (c *Config) Merge(o *Config) *Config {
	if c == nil {
		return o
	}
	if o == nil {
		return c
	}
	r := *c
	over(&r.Consul.Address, o.Consul.Address)
	over(&r.Consul.Token, o.Consul.Token)
	over(&r.Consul.Protocol, o.Consul.Protocol)
	over(&r.Consul.Auth.Enabled, o.Consul.Auth.Enabled)
	over(&r.Consul.Auth.Username, o.Consul.Auth.Username)
	over(&r.Consul.Auth.Password, o.Consul.Auth.Password)
	over(&r.Consul.SSL.Enabled, o.Consul.SSL.Enabled)
	over(&r.Consul.SSL.Verify, o.Consul.SSL.Verify)
	over(&r.Consul.SSL.Cert, o.Consul.SSL.Cert)
	over(&r.Consul.SSL.Key, o.Consul.SSL.Key)
	over(&r.Consul.SSL.CACert, o.Consul.SSL.CACert)
	over(&r.Consul.SSL.CAPath, o.Consul.SSL.CAPath)
	over(&r.Consul.SSL.ServerName, o.Consul.SSL.ServerName)
	over(&r.Consul.Retry.Enabled, o.Consul.Retry.Enabled)
	over(&r.Consul.Retry.Attempts, o.Consul.Retry.Attempts)
	over(&r.Consul.Retry.Backoff, o.Consul.Retry.Backoff)
	over(&r.Consul.Retry.MaxBackoff, o.Consul.Retry.MaxBackoff)
	r.Templates = append(append([]*Template{}, c.Templates...), o.Templates...)
	r.Wait = mergeWait(c.Wait, o.Wait)
	over(&r.MaxStale, o.MaxStale)
	over(&r.BlockWait, o.BlockWait)
	over(&r.LogLevel, o.LogLevel)
	over(&r.PidFile, o.PidFile)
	over(&r.Syslog.Enabled, o.Syslog.Enabled)
	over(&r.Syslog.Facility, o.Syslog.Facility)
	over(&r.Syslog.Name, o.Syslog.Name)
	over(&r.Exec.Enabled, o.Exec.Enabled)
	if o.Exec.Command != nil {
		r.Exec.Command = o.Exec.Command
	}
	over(&r.Exec.Shell, o.Exec.Shell)
	over(&r.Exec.KillSignal, o.Exec.KillSignal)
	over(&r.Exec.KillTimeout, o.Exec.KillTimeout)
	over(&r.Exec.ReloadSignal, o.Exec.ReloadSignal)
	over(&r.Exec.Splay, o.Exec.Splay)
	over(&r.Exec.Timeout, o.Exec.Timeout)
	over(&r.Dedup.Enabled, o.Dedup.Enabled)
	over(&r.Dedup.Prefix, o.Dedup.Prefix)
	over(&r.Dedup.TTL, o.Dedup.TTL)
	over(&r.Dedup.MaxStale, o.Dedup.MaxStale)
	over(&r.KillSignal, o.KillSignal)
	over(&r.ReloadSignal, o.ReloadSignal)
	over(&r.DefaultDelims.Left, o.DefaultDelims.Left)
	over(&r.DefaultDelims.Right, o.DefaultDelims.Right)
	over(&r.Missing, o.Missing)
	over(&r.Fixture, o.Fixture)
	over(&r.Once, o.Once)
	over(&r.Dry, o.Dry)
	return &r
}

func over[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

func mergeWait(a, b Wait) Wait {
	if b.Min != nil {
		return b
	}
	return a
}

func ptr[T any](v T) *T { return &v }

func fill[T any](dst **T, v T) {
	if *dst == nil {
		*dst = ptr(v)
	}
}

// Finalize fills every unset field with its default and checks the
// result; the error names the template or setting at fault.
func (c *Config) Finalize() error {
	fill(&c.Consul.Address, "")
	fill(&c.Consul.Token, "")
	fill(&c.Consul.Protocol, "auto")
	fill(&c.Consul.Auth.Enabled, c.Consul.Auth.Username != nil)
	fill(&c.Consul.Auth.Username, "")
	fill(&c.Consul.Auth.Password, "")
	fill(&c.Consul.SSL.Enabled, false)
	fill(&c.Consul.SSL.Verify, true)
	for _, p := range []**string{&c.Consul.SSL.Cert, &c.Consul.SSL.Key, &c.Consul.SSL.CACert, &c.Consul.SSL.CAPath, &c.Consul.SSL.ServerName} {
		fill(p, "")
	}
	fill(&c.Consul.Retry.Enabled, true)
	fill(&c.Consul.Retry.Attempts, 12)
	fill(&c.Consul.Retry.Backoff, 250*time.Millisecond)
	fill(&c.Consul.Retry.MaxBackoff, time.Minute)
	c.Wait = finalWait(c.Wait)
	fill(&c.MaxStale, 0)
	fill(&c.BlockWait, 0)
	fill(&c.LogLevel, "warn")
	fill(&c.PidFile, "")
	fill(&c.Syslog.Enabled, false)
	fill(&c.Syslog.Facility, "LOCAL0")
	fill(&c.Syslog.Name, "consul-template")
	fill(&c.Exec.Enabled, len(c.Exec.Command) > 0)
	fill(&c.Exec.Shell, true)
	fill(&c.Exec.KillSignal, "SIGTERM")
	fill(&c.Exec.KillTimeout, 30*time.Second)
	fill(&c.Exec.ReloadSignal, "")
	fill(&c.Exec.Splay, 0)
	fill(&c.Exec.Timeout, 0)
	fill(&c.Dedup.Enabled, false)
	fill(&c.KillSignal, "SIGINT")
	fill(&c.ReloadSignal, "SIGHUP")
	fill(&c.DefaultDelims.Left, "")
	fill(&c.DefaultDelims.Right, "")
	fill(&c.Missing, "block")
	fill(&c.Fixture, "")
	fill(&c.Once, false)
	fill(&c.Dry, false)
	if err := c.check(); err != nil {
		return err
	}
	for _, t := range c.Templates {
		if err := c.finalizeTemplate(t); err != nil {
			return err
		}
	}
	return nil
}

func finalWait(w Wait) Wait {
	if w.Min == nil {
		return Wait{Min: ptr(time.Duration(0)), Max: ptr(time.Duration(0))}
	}
	if w.Max == nil || *w.Max == 0 {
		w.Max = ptr(4 * *w.Min)
	}
	return w
}

func (c *Config) check() error {
	switch strings.ToLower(*c.LogLevel) {
	case "trace", "debug", "info", "warn", "warning", "err", "error":
	default:
		return fmt.Errorf("log_level %q: want trace, debug, info, warn or err", *c.LogLevel)
	}
	switch *c.Consul.Protocol {
	case "auto", "h2c", "http1":
	default:
		return fmt.Errorf("consul protocol %q: want auto, h2c or http1", *c.Consul.Protocol)
	}
	if *c.Wait.Max < *c.Wait.Min {
		return fmt.Errorf("wait: max %s is less than min %s", *c.Wait.Max, *c.Wait.Min)
	}
	if _, err := ParseMissing(*c.Missing); err != nil {
		return err
	}
	for _, s := range []*string{c.KillSignal, c.ReloadSignal, c.Exec.KillSignal} {
		if _, err := ParseSignal(*s); err != nil {
			return err
		}
	}
	if *c.Exec.ReloadSignal != "" {
		if _, err := ParseSignal(*c.Exec.ReloadSignal); err != nil {
			return err
		}
	}
	if *c.Exec.Enabled && len(c.Exec.Command) == 0 {
		return fmt.Errorf("exec: enabled but no command")
	}
	return nil
}

func (c *Config) finalizeTemplate(t *Template) error {
	name := t.Name()
	hasSource := t.Source != nil && *t.Source != ""
	hasContents := t.Contents != nil && *t.Contents != ""
	switch {
	case hasSource && hasContents:
		return fmt.Errorf("template %s: set source or contents, not both", name)
	case !hasSource && !hasContents:
		return fmt.Errorf("template %s: no source and no contents", name)
	}
	fill(&t.Source, "")
	fill(&t.Contents, "")
	fill(&t.Destination, "")
	if *t.Destination == "" && !*c.Dry {
		return fmt.Errorf("template %s: no destination (only -dry can print a template without one)", name)
	}
	fill(&t.CommandTimeout, 30*time.Second)
	fill(&t.Backup, false)
	fill(&t.CreateDestDirs, true)
	if t.LeftDelim == nil {
		t.LeftDelim = c.DefaultDelims.Left
	}
	if t.RightDelim == nil {
		t.RightDelim = c.DefaultDelims.Right
	}
	fill(&t.ErrMissingKey, false)
	if t.Wait.Min == nil {
		t.Wait = c.Wait
	}
	t.Wait = finalWait(t.Wait)
	if *t.Wait.Max < *t.Wait.Min {
		return fmt.Errorf("template %s: wait: max %s is less than min %s", name, *t.Wait.Max, *t.Wait.Min)
	}
	fill(&t.User, "")
	fill(&t.Group, "")
	fill(&t.Check, "")
	fill(&t.WriteMode, "rename")
	if *t.WriteMode != "rename" && *t.WriteMode != "inplace" {
		return fmt.Errorf("template %s: write_mode %q: want rename or inplace", name, *t.WriteMode)
	}
	if t.Missing == nil {
		t.Missing = c.Missing
	}
	if _, err := ParseMissing(*t.Missing); err != nil {
		return fmt.Errorf("template %s: %w", name, err)
	}
	return nil
}
