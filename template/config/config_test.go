package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func finalized(t *testing.T, c *Config) *Config {
	t.Helper()
	if err := c.Finalize(); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	return c
}

// Seed 000's nginx.hcl, as written in the article.
const seedHCL = `consul {
address = "192.168.1.153:8500"
}
template {
source = "/data/consul/consul-template/conf/nginx.conf.ctmpl"
destination = "/etc/nginx/conf/conf.d/default.conf"
command = "service nginx reload"
}
`

func TestSeedHCL(t *testing.T) {
	c, err := Parse("nginx.hcl", []byte(seedHCL))
	if err != nil {
		t.Fatal(err)
	}
	finalized(t, c)
	if *c.Consul.Address != "192.168.1.153:8500" || len(c.Templates) != 1 {
		t.Fatalf("address %q, %d templates", *c.Consul.Address, len(c.Templates))
	}
	tm := c.Templates[0]
	if *tm.Source != "/data/consul/consul-template/conf/nginx.conf.ctmpl" ||
		*tm.Destination != "/etc/nginx/conf/conf.d/default.conf" ||
		len(tm.Command) != 1 || tm.Command[0] != "service nginx reload" || !tm.Shell {
		t.Errorf("template %+v", tm)
	}
	if *tm.CommandTimeout != 30*time.Second || !*tm.CreateDestDirs || *tm.WriteMode != "rename" || tm.Wait.Enabled() {
		t.Errorf("defaults: timeout %s create_dest_dirs %v write_mode %s wait %v", *tm.CommandTimeout, *tm.CreateDestDirs, *tm.WriteMode, tm.Wait.Enabled())
	}
}

func TestEveryKey(t *testing.T) {
	src := `
consul {
  address = "10.0.0.1:8500"
  token = "tok"
  protocol = "http1"
  auth { enabled = true
    username = "u"
    password = "p" }
  ssl { enabled = true
    verify = false
    ca_cert = "/ca.pem" }
  retry { attempts = 3
    backoff = "1s"
    max_backoff = "4s" }
  transport { dial_timeout = "10s" }
}
wait { min = "2s"
  max = "9s" }
max_stale = "10m"
log_level = "debug"
pid_file = "/run/ct.pid"
kill_signal = "SIGTERM"
reload_signal = "SIGUSR2"
syslog { enabled = true
  facility = "LOCAL5" }
dedup { enabled = true }
exec { command = ["/usr/sbin/app", "-f"]
  reload_signal = "SIGHUP"
  kill_timeout = "5s"
  splay = "1s" }
default_delimiters { left = "[["
  right = "]]" }
missing = "fail after 30s"
template {
  source = "a.ctmpl"
  destination = "a.conf"
  command = ["nginx", "-s", "reload"]
  command_timeout = "5s"
  perms = 0640
  backup = true
  create_dest_dirs = false
  error_on_missing_key = true
  wait = "1s:3s"
  user = "nobody"
  group = "nogroup"
  function_denylist = ["env", "plugin"]
  check = "nginx -t -c {{tmp}}"
  write_mode = "inplace"
  missing = "default n/a"
}
template {
  contents = "{{ key \"x\" }}"
  destination = "b.conf"
  perms = "0600"
  left_delimiter = "<%"
  exec { command = "echo hi"
    timeout = "2s" }
}
`
	c, err := Parse("all.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	finalized(t, c)
	checks := []struct {
		name string
		ok   bool
	}{
		{"address", *c.Consul.Address == "10.0.0.1:8500"},
		{"token", *c.Consul.Token == "tok"},
		{"protocol", *c.Consul.Protocol == "http1"},
		{"auth", *c.Consul.Auth.Enabled && *c.Consul.Auth.Username == "u" && *c.Consul.Auth.Password == "p"},
		{"ssl", *c.Consul.SSL.Enabled && !*c.Consul.SSL.Verify && *c.Consul.SSL.CACert == "/ca.pem"},
		{"retry", *c.Consul.Retry.Attempts == 3 && *c.Consul.Retry.Backoff == time.Second && *c.Consul.Retry.MaxBackoff == 4*time.Second && *c.Consul.Retry.Enabled},
		{"wait", *c.Wait.Min == 2*time.Second && *c.Wait.Max == 9*time.Second},
		{"max_stale", *c.MaxStale == 10*time.Minute},
		{"log_level", *c.LogLevel == "debug"},
		{"pid_file", *c.PidFile == "/run/ct.pid"},
		{"signals", *c.KillSignal == "SIGTERM" && *c.ReloadSignal == "SIGUSR2"},
		{"syslog", *c.Syslog.Enabled && *c.Syslog.Facility == "LOCAL5"},
		{"dedup", *c.Dedup.Enabled},
		{"exec", *c.Exec.Enabled && strings.Join(c.Exec.Command, " ") == "/usr/sbin/app -f" && !*c.Exec.Shell && *c.Exec.ReloadSignal == "SIGHUP" && *c.Exec.KillTimeout == 5*time.Second && *c.Exec.Splay == time.Second},
		{"missing", *c.Missing == "fail after 30s"},
	}
	a, b := c.Templates[0], c.Templates[1]
	checks = append(checks, []struct {
		name string
		ok   bool
	}{
		{"t.command list", strings.Join(a.Command, " ") == "nginx -s reload" && !a.Shell},
		{"t.command_timeout", *a.CommandTimeout == 5*time.Second},
		{"t.perms number", *a.Perms == 0o640},
		{"t.backup", *a.Backup},
		{"t.create_dest_dirs", !*a.CreateDestDirs},
		{"t.error_on_missing_key", *a.ErrMissingKey},
		{"t.wait string", *a.Wait.Min == time.Second && *a.Wait.Max == 3*time.Second},
		{"t.user/group", *a.User == "nobody" && *a.Group == "nogroup"},
		{"t.denylist", strings.Join(a.Denylist, ",") == "env,plugin"},
		{"t.check", *a.Check == "nginx -t -c {{tmp}}"},
		{"t.write_mode", *a.WriteMode == "inplace"},
		{"t.missing", *a.Missing == "default n/a"},
		{"t.default delimiters", *a.LeftDelim == "[[" && *a.RightDelim == "]]"},
		{"t2.contents", *b.Contents == `{{ key "x" }}`},
		{"t2.perms string", *b.Perms == 0o600},
		{"t2.own delimiter", *b.LeftDelim == "<%" && *b.RightDelim == "]]"},
		{"t2.exec block", b.Command[0] == "echo hi" && b.Shell && *b.CommandTimeout == 2*time.Second},
		{"t2.global wait", *b.Wait.Min == 2*time.Second},
		{"t2.global missing", *b.Missing == "fail after 30s"},
	}...)
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s not decoded as written", ch.name)
		}
	}
}

func TestJSONConfig(t *testing.T) {
	src := `{"consul": {"address": "1.2.3.4:8500"},
	  "template": [{"source": "a.ctmpl", "destination": "a"}, {"source": "b.ctmpl", "destination": "b", "perms": "0600"}]}`
	c, err := Parse("c.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	finalized(t, c)
	if *c.Consul.Address != "1.2.3.4:8500" || len(c.Templates) != 2 || *c.Templates[1].Perms != 0o600 {
		t.Fatalf("json config: %+v", c)
	}
}

func TestConfigErrorsNameFileLineAndKey(t *testing.T) {
	cases := []struct{ src, want string }{
		{"consul {\n  adress = \"x\"\n}\n", `bad.hcl:2: unknown key "adress" in consul`},
		{"template {\n source = \"a\"\n sourc = \"b\"\n}\n", `bad.hcl:3: unknown key "sourc" in template`},
		{"wait = \"soon\"\n", `bad.hcl:1: config: wait "soon": "soon" is not a duration`},
		{"max_stale = 5\n", `bad.hcl:1: max_stale: want a duration in quotes`},
		{"consul {\n retry {\n attempts = \"x\"\n }\n}\n", `bad.hcl:3: consul.retry.attempts: want a whole number`},
		{"template {\n perms = \"rw\"\n}\n", `bad.hcl:2: template: perms "rw"`},
		{"vault { address = \"x\" }\n", "vault is not supported"},
		{"template {\n", "bad.hcl"},
	}
	for _, tc := range cases {
		_, err := Parse("bad.hcl", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.src, err, tc.want)
		}
	}
}

func TestFinalizeErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"template {\n destination = \"x\"\n}", "no source and no contents"},
		{"template {\n source = \"a\"\n contents = \"b\"\n destination = \"x\"\n}", "not both"},
		{"template {\n source = \"a\"\n}", "no destination"},
		{"template {\n source = \"a\"\n destination = \"b\"\n write_mode = \"copy\"\n}", `write_mode "copy"`},
		{"template {\n source = \"a\"\n destination = \"b\"\n missing = \"maybe\"\n}", `missing "maybe"`},
		{"log_level = \"loud\"", `log_level "loud"`},
		{"kill_signal = \"SIGFOO\"", `signal "SIGFOO"`},
	}
	for _, tc := range cases {
		c, err := Parse("f.hcl", []byte(tc.src))
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if err := c.Finalize(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.src, err, tc.want)
		}
	}
}

func TestSeedFlags(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		check func(*Config) bool
	}{
		{"seed 000 -once", []string{"-consul-addr", "192.168.1.153:8500", "-template", "/data/ctmpl/tmpltest.ctmpl:result", "-once"},
			func(c *Config) bool {
				return *c.Consul.Address == "192.168.1.153:8500" && *c.Once && *c.Templates[0].Source == "/data/ctmpl/tmpltest.ctmpl" &&
					*c.Templates[0].Destination == "result" && c.Templates[0].Command == nil
			}},
		{"seed 003 -wait=5s and a command", []string{"-consul-addr=172.29.150.202:8500", "-wait=5s", "-template=/etc/ctmpl/ctmpl:/etc/nginx/conf.d/app.conf:/tmp/nginx.sh"},
			func(c *Config) bool {
				tm := c.Templates[0]
				return *tm.Wait.Min == 5*time.Second && *tm.Wait.Max == 20*time.Second && tm.Command[0] == "/tmp/nginx.sh" && tm.Shell &&
					*tm.Destination == "/etc/nginx/conf.d/app.conf"
			}},
		{"seed 004 command", []string{"-consul-addr", "localhost:8500", "-template", "./nginx.ctmpl:/etc/test.conf:pwd"},
			func(c *Config) bool { return c.Templates[0].Command[0] == "pwd" }},
		{"a command with colons", []string{"-template", "a:b:echo a:b"},
			func(c *Config) bool { return c.Templates[0].Command[0] == "echo a:b" }},
		{"-dry without destination", []string{"-dry", "-once", "-template", "in.ctmpl"},
			func(c *Config) bool { return *c.Dry && *c.Templates[0].Destination == "" }},
		{"repeatable -template in order", []string{"-template", "a:1", "-template", "b:2"},
			func(c *Config) bool { return *c.Templates[0].Source == "a" && *c.Templates[1].Source == "b" }},
		{"seed 000 flag list", []string{"-consul-auth=u:p", "-max-stale=1s", "-dedup", "-consul-ssl", "-consul-ssl-verify=false",
			"-consul-ssl-cert=c", "-consul-ssl-key=k", "-consul-ssl-ca-cert=ca", "-consul-token=t", "-syslog", "-syslog-facility=LOCAL3",
			"-retry=5s", "-pid-file=/p", "-log-level=info", "-template", "a:b"},
			func(c *Config) bool {
				return *c.Consul.Auth.Username == "u" && *c.MaxStale == time.Second && *c.Dedup.Enabled && *c.Consul.SSL.Enabled &&
					!*c.Consul.SSL.Verify && *c.Consul.SSL.Cert == "c" && *c.Consul.Token == "t" && *c.Syslog.Enabled &&
					*c.Syslog.Facility == "LOCAL3" && *c.Consul.Retry.Backoff == 5*time.Second && *c.PidFile == "/p" && *c.LogLevel == "info"
			}},
		{"-exec", []string{"-exec", "app --serve", "-exec-reload-signal", "SIGHUP", "-exec-kill-timeout", "3s", "-template", "a:b"},
			func(c *Config) bool {
				return *c.Exec.Enabled && c.Exec.Command[0] == "app --serve" && *c.Exec.ReloadSignal == "SIGHUP" && *c.Exec.KillTimeout == 3*time.Second
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := ParseFlags(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			finalized(t, c)
			if !tc.check(c) {
				t.Errorf("flags %q not read as given", tc.args)
			}
		})
	}
	for _, bad := range [][]string{{"-wait", "x"}, {"-nope"}, {"-template", ""}, {"stray"}, {"-consul-retry-attempts", "many"}} {
		if _, _, err := ParseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// Environment < config files (in order) < flags; templates add up.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "10-a.hcl"), []byte(`consul { address = "file-a:8500" }
template {
  source = "a"
  destination = "a.out"
}`), 0o644)
	os.WriteFile(filepath.Join(dir, "20-b.hcl"), []byte(`consul { token = "file-token" }
template {
  source = "b"
  destination = "b.out"
}`), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte(`garbage {{{`), 0o644)
	env := FromEnv(func(k string) (string, bool) {
		v, ok := map[string]string{"CONSUL_HTTP_ADDR": "env:8500", "CONSUL_TOKEN": "env-token", "CONSUL_HTTP_TOKEN": "http-token"}[k]
		return v, ok
	})
	if *env.Consul.Token != "http-token" {
		t.Errorf("CONSUL_HTTP_TOKEN should win over CONSUL_TOKEN, got %q", *env.Consul.Token)
	}
	files, err := LoadPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	flags, _, err := ParseFlags([]string{"-template", "c:c.out"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := finalized(t, env.Merge(files).Merge(flags))
	if *c.Consul.Address != "file-a:8500" || *c.Consul.Token != "file-token" {
		t.Errorf("address %q token %q", *c.Consul.Address, *c.Consul.Token)
	}
	var srcs []string
	for _, tm := range c.Templates {
		srcs = append(srcs, *tm.Source)
	}
	if strings.Join(srcs, ",") != "a,b,c" {
		t.Errorf("templates %v", srcs)
	}
	flags2, _, _ := ParseFlags([]string{"-consul-addr", "flag:8500"}, io.Discard)
	if c := finalized(t, env.Merge(files).Merge(flags2)); *c.Consul.Address != "flag:8500" {
		t.Errorf("flag should win, got %q", *c.Consul.Address)
	}
	if _, err := LoadPaths([]string{"nginx.hcl:test.out"}); err == nil || !strings.Contains(err.Error(), "-template src:dst:cmd") {
		t.Errorf("a -config value with a colon: %v", err)
	}
}

func TestParseMissing(t *testing.T) {
	cases := []struct {
		in   string
		want MissingPolicy
	}{
		{"block", MissingPolicy{Kind: "block"}},
		{"fail after 30s", MissingPolicy{Kind: "fail", After: 30 * time.Second}},
		{"default", MissingPolicy{Kind: "default"}},
		{"default n/a", MissingPolicy{Kind: "default", Default: "n/a"}},
		{`default "quoted text"`, MissingPolicy{Kind: "default", Default: "quoted text"}},
	}
	for _, tc := range cases {
		got, err := ParseMissing(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{"fail", "fail after soon", "wait"} {
		if _, err := ParseMissing(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
