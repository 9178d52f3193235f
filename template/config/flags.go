package config

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CLI is what the command line says beyond the Config.
type CLI struct {
	// ConfigPaths are the -config values, in order.
	ConfigPaths []string
	Version     bool
}

// FromEnv reads the environment variables consul-template and the consul
// CLI read (lookup is os.LookupEnv in production).
func FromEnv(lookup func(string) (string, bool)) *Config {
	c := &Config{}
	str := func(k string) *string {
		if v, ok := lookup(k); ok && v != "" {
			return ptr(v)
		}
		return nil
	}
	boolean := func(k string) *bool {
		if v := str(k); v != nil {
			if b, err := strconv.ParseBool(*v); err == nil {
				return ptr(b)
			}
		}
		return nil
	}
	c.Consul.Address = str("CONSUL_HTTP_ADDR")
	if c.Consul.Address != nil && strings.HasPrefix(*c.Consul.Address, "https://") {
		c.Consul.SSL.Enabled = ptr(true)
	}
	c.Consul.Token = str("CONSUL_TOKEN")
	if t := str("CONSUL_HTTP_TOKEN"); t != nil {
		c.Consul.Token = t
	}
	if a := str("CONSUL_HTTP_AUTH"); a != nil {
		c.Consul.Auth = ParseAuth(*a)
	}
	if b := boolean("CONSUL_HTTP_SSL"); b != nil {
		c.Consul.SSL.Enabled = b
	}
	c.Consul.SSL.Verify = boolean("CONSUL_HTTP_SSL_VERIFY")
	c.Consul.SSL.CACert = str("CONSUL_CACERT")
	c.Consul.SSL.CAPath = str("CONSUL_CAPATH")
	c.Consul.SSL.Cert = str("CONSUL_CLIENT_CERT")
	c.Consul.SSL.Key = str("CONSUL_CLIENT_KEY")
	c.Consul.SSL.ServerName = str("CONSUL_TLS_SERVER_NAME")
	return c
}

// ParseFlags reads consul-template's flags (and beacon's additions) into a
// Config. Usage goes to out on -h.
func ParseFlags(args []string, out io.Writer) (*Config, *CLI, error) {
	c := &Config{}
	cli := &CLI{}
	fs := flag.NewFlagSet("template", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(out, usage) }

	strVar := func(dst **string, name string) {
		fs.Func(name, "", func(s string) error { *dst = ptr(s); return nil })
	}
	boolVar := func(dst **bool, name string) {
		fs.BoolFunc(name, "", func(s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("want true or false")
			}
			*dst = ptr(b)
			return nil
		})
	}
	durVar := func(dst **time.Duration, name string) {
		fs.Func(name, "", func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("%q is not a duration like 5s", s)
			}
			*dst = ptr(d)
			return nil
		})
	}
	intVar := func(dst **int, name string) {
		fs.Func(name, "", func(s string) error {
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", s)
			}
			*dst = ptr(n)
			return nil
		})
	}

	fs.Func("config", "", func(s string) error { cli.ConfigPaths = append(cli.ConfigPaths, s); return nil })
	strVar(&c.Consul.Address, "consul-addr")
	fs.Func("consul-auth", "", func(s string) error { c.Consul.Auth = ParseAuth(s); return nil })
	strVar(&c.Consul.Token, "consul-token")
	strVar(&c.Consul.Protocol, "consul-protocol")
	boolVar(&c.Consul.Retry.Enabled, "consul-retry")
	intVar(&c.Consul.Retry.Attempts, "consul-retry-attempts")
	durVar(&c.Consul.Retry.Backoff, "consul-retry-backoff")
	durVar(&c.Consul.Retry.MaxBackoff, "consul-retry-max-backoff")
	durVar(&c.Consul.Retry.Backoff, "retry")
	boolVar(&c.Consul.SSL.Enabled, "consul-ssl")
	boolVar(&c.Consul.SSL.Verify, "consul-ssl-verify")
	strVar(&c.Consul.SSL.Cert, "consul-ssl-cert")
	strVar(&c.Consul.SSL.Key, "consul-ssl-key")
	strVar(&c.Consul.SSL.CACert, "consul-ssl-ca-cert")
	strVar(&c.Consul.SSL.CAPath, "consul-ssl-ca-path")
	strVar(&c.Consul.SSL.ServerName, "consul-ssl-server-name")
	for _, name := range []string{"consul-transport-dial-keep-alive", "consul-transport-dial-timeout",
		"consul-transport-tls-handshake-timeout"} {
		var ignored *time.Duration
		durVar(&ignored, name)
	}
	var ignoredBool *bool
	boolVar(&ignoredBool, "consul-transport-disable-keep-alives")
	var ignoredInt *int
	intVar(&ignoredInt, "consul-transport-max-idle-conns-per-host")

	durVar(&c.MaxStale, "max-stale")
	durVar(&c.BlockWait, "block-query-wait")
	boolVar(&c.Dedup.Enabled, "dedup")
	boolVar(&c.Syslog.Enabled, "syslog")
	strVar(&c.Syslog.Facility, "syslog-facility")
	strVar(&c.Syslog.Name, "syslog-name")
	n := 0
	fs.Func("template", "", func(s string) error {
		n++
		t, err := ParseTemplateFlag(s, n)
		if err != nil {
			return err
		}
		c.Templates = append(c.Templates, t)
		return nil
	})
	fs.Func("wait", "", func(s string) error {
		w, err := ParseWait(s)
		c.Wait = w
		return err
	})
	strVar(&c.PidFile, "pid-file")
	strVar(&c.LogLevel, "log-level")
	boolVar(&c.Dry, "dry")
	boolVar(&c.Once, "once")
	strVar(&c.KillSignal, "kill-signal")
	strVar(&c.ReloadSignal, "reload-signal")
	fs.Func("exec", "", func(s string) error {
		c.Exec.Command, c.Exec.Shell, c.Exec.Enabled = []string{s}, ptr(true), ptr(true)
		return nil
	})
	strVar(&c.Exec.KillSignal, "exec-kill-signal")
	durVar(&c.Exec.KillTimeout, "exec-kill-timeout")
	strVar(&c.Exec.ReloadSignal, "exec-reload-signal")
	durVar(&c.Exec.Splay, "exec-splay")
	strVar(&c.Missing, "missing")
	strVar(&c.Fixture, "fixture")
	fs.BoolVar(&cli.Version, "v", false, "")
	fs.BoolVar(&cli.Version, "version", false, "")

	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected arguments %q (flags start with -)", fs.Args())
	}
	return c, cli, nil
}

const usage = `Usage: beacon template [options]

  Renders templates from catalog and KV data, rewrites files when the data
  changes and runs a command after each change. Flags, config files and
  templates are consul-template's; the binary also runs under that name.

Options:
  -config=<path>            Config file or directory (HCL or JSON); repeatable
  -consul-addr=<address>    API address (default 127.0.0.1:8500, or CONSUL_HTTP_ADDR)
  -consul-token=<token>     ACL token (or CONSUL_HTTP_TOKEN, CONSUL_TOKEN)
  -consul-auth=<user[:pw]>  HTTP basic auth
  -consul-ssl, -consul-ssl-verify, -consul-ssl-cert, -consul-ssl-key,
  -consul-ssl-ca-cert, -consul-ssl-ca-path, -consul-ssl-server-name
                            HTTPS to the API
  -consul-protocol=<p>      auto (h2c, falling back to HTTP/1.1), h2c or http1
  -consul-retry, -consul-retry-attempts=<n>, -consul-retry-backoff=<d>,
  -consul-retry-max-backoff=<d>, -retry=<d>
                            Retries of failed queries (default 12 from 250ms)
  -template=<src[:dst[:command]]>
                            A template to render; repeatable
  -wait=<min[:max]>         Quiescence: render min after the last change,
                            at most max (default 4*min) after the first
  -once                     Render every template once and exit
  -dry                      Print rendered templates to stdout, write nothing
  -max-stale=<d>            Allow stale reads up to this old
  -missing=<policy>         block, "fail after <d>" or "default <text>"
  -fixture=<file.json>      Render from a JSON file of catalog and KV data
  -exec=<command>           Supervise a child process, reloaded on change
  -exec-kill-signal, -exec-kill-timeout, -exec-reload-signal, -exec-splay
  -kill-signal=<sig>        Signal that stops the renderer (default SIGINT)
  -reload-signal=<sig>      Signal that reloads the config (default SIGHUP)
  -log-level=<level>        trace, debug, info, warn (default) or err
  -syslog, -syslog-facility=<f>
                            Log to syslog (facility default LOCAL0)
  -pid-file=<path>          Write the process ID here
  -dedup                    Accepted; see the README
  -v, -version              Print the version
`
