package config

import (
	"fmt"
	"os"
)

// topLevel decodes consul-template's top-level keys.
func (d *decoder) topLevel(o *object, c *Config) {
	d.known(o, "consul", "template", "wait", "max_stale", "block_query_wait", "log_level", "pid_file",
		"syslog", "exec", "dedup", "kill_signal", "reload_signal", "default_delimiters", "missing",
		"fixture", "vault")
	if _, ok := o.items["vault"]; ok {
		d.fail(o.items["vault"][0].Pos(), "vault is not supported by beacon template")
	}
	d.consul(d.block(o, "consul"), &c.Consul)
	for _, b := range d.blocks(o, "template") {
		c.Templates = append(c.Templates, d.template(b))
	}
	d.wait(o, &c.Wait)
	d.duration(o, "max_stale", &c.MaxStale)
	d.duration(o, "block_query_wait", &c.BlockWait)
	d.str(o, "log_level", &c.LogLevel)
	d.str(o, "pid_file", &c.PidFile)
	d.str(o, "kill_signal", &c.KillSignal)
	d.str(o, "reload_signal", &c.ReloadSignal)
	d.str(o, "missing", &c.Missing)
	d.str(o, "fixture", &c.Fixture)

	sl := d.block(o, "syslog")
	d.known(sl, "enabled", "facility", "name")
	d.boolean(sl, "enabled", &c.Syslog.Enabled)
	d.str(sl, "facility", &c.Syslog.Facility)
	d.str(sl, "name", &c.Syslog.Name)

	d.exec(d.block(o, "exec"), &c.Exec)

	dd := d.block(o, "dedup")
	d.known(dd, "enabled", "prefix", "ttl", "max_stale", "block_query_wait")
	d.boolean(dd, "enabled", &c.Dedup.Enabled)
	d.str(dd, "prefix", &c.Dedup.Prefix)
	d.duration(dd, "ttl", &c.Dedup.TTL)
	d.duration(dd, "max_stale", &c.Dedup.MaxStale)

	dl := d.block(o, "default_delimiters")
	d.known(dl, "left", "right")
	d.str(dl, "left", &c.DefaultDelims.Left)
	d.str(dl, "right", &c.DefaultDelims.Right)
}

func (d *decoder) consul(o *object, c *Consul) {
	d.known(o, "address", "token", "auth", "ssl", "retry", "transport", "namespace", "protocol")
	d.str(o, "address", &c.Address)
	d.str(o, "token", &c.Token)
	d.str(o, "protocol", &c.Protocol)

	a := d.block(o, "auth")
	d.known(a, "enabled", "username", "password")
	d.boolean(a, "enabled", &c.Auth.Enabled)
	d.str(a, "username", &c.Auth.Username)
	d.str(a, "password", &c.Auth.Password)

	s := d.block(o, "ssl")
	d.known(s, "enabled", "verify", "cert", "key", "ca_cert", "ca_path", "server_name")
	d.boolean(s, "enabled", &c.SSL.Enabled)
	d.boolean(s, "verify", &c.SSL.Verify)
	d.str(s, "cert", &c.SSL.Cert)
	d.str(s, "key", &c.SSL.Key)
	d.str(s, "ca_cert", &c.SSL.CACert)
	d.str(s, "ca_path", &c.SSL.CAPath)
	d.str(s, "server_name", &c.SSL.ServerName)

	r := d.block(o, "retry")
	d.known(r, "enabled", "attempts", "backoff", "max_backoff")
	d.boolean(r, "enabled", &c.Retry.Enabled)
	d.integer(r, "attempts", &c.Retry.Attempts)
	d.duration(r, "backoff", &c.Retry.Backoff)
	d.duration(r, "max_backoff", &c.Retry.MaxBackoff)

	// Connection tuning of consul-template's HTTP/1.1 client: accepted,
	// with nothing to tune on a single multiplexed connection.
	t := d.block(o, "transport")
	d.known(t, "dial_keep_alive", "dial_timeout", "disable_keep_alives", "idle_conn_timeout",
		"max_idle_conns", "max_idle_conns_per_host", "max_conns_per_host", "tls_handshake_timeout")
}

func (d *decoder) exec(o *object, e *Exec) {
	d.known(o, "command", "enabled", "kill_signal", "kill_timeout", "reload_signal", "splay", "timeout")
	if cmd, shell, ok := d.strings(o, "command"); ok {
		e.Command, e.Shell = cmd, ptr(shell)
	}
	d.boolean(o, "enabled", &e.Enabled)
	d.str(o, "kill_signal", &e.KillSignal)
	d.duration(o, "kill_timeout", &e.KillTimeout)
	d.str(o, "reload_signal", &e.ReloadSignal)
	d.duration(o, "splay", &e.Splay)
	d.duration(o, "timeout", &e.Timeout)
}

func (d *decoder) template(o *object) *Template {
	d.known(o, "source", "destination", "contents", "command", "command_timeout", "exec", "perms",
		"backup", "create_dest_dirs", "left_delimiter", "right_delimiter", "error_on_missing_key",
		"wait", "user", "group", "uid", "gid", "function_denylist", "function_blacklist",
		"check", "write_mode", "missing")
	t := &Template{Origin: fmt.Sprintf("%s:%d", d.file, o.line)}
	d.str(o, "source", &t.Source)
	d.str(o, "destination", &t.Destination)
	d.str(o, "contents", &t.Contents)
	if cmd, shell, ok := d.strings(o, "command"); ok {
		t.Command, t.Shell = cmd, shell
	}
	d.duration(o, "command_timeout", &t.CommandTimeout)
	if _, ok := o.items["exec"]; ok {
		ex := d.block(o, "exec")
		d.known(ex, "command", "timeout")
		if cmd, shell, ok := d.strings(ex, "command"); ok {
			t.Command, t.Shell = cmd, shell
		}
		d.duration(ex, "timeout", &t.CommandTimeout)
	}
	d.perms(o, &t.Perms)
	d.boolean(o, "backup", &t.Backup)
	d.boolean(o, "create_dest_dirs", &t.CreateDestDirs)
	d.str(o, "left_delimiter", &t.LeftDelim)
	d.str(o, "right_delimiter", &t.RightDelim)
	d.boolean(o, "error_on_missing_key", &t.ErrMissingKey)
	d.wait(o, &t.Wait)
	d.str(o, "user", &t.User)
	d.str(o, "uid", &t.User)
	d.str(o, "group", &t.Group)
	d.str(o, "gid", &t.Group)
	for _, k := range []string{"function_denylist", "function_blacklist"} {
		if list, _, ok := d.strings(o, k); ok {
			t.Denylist = append(t.Denylist, list...)
		}
	}
	d.str(o, "check", &t.Check)
	d.str(o, "write_mode", &t.WriteMode)
	d.str(o, "missing", &t.Missing)
	return t
}

// perms reads a mode given as an octal string ("0644") or a number (HCL
// reads 0644 as octal already).
func (d *decoder) perms(o *object, dst **os.FileMode) {
	v, pos, ok := d.literal(o, "perms")
	if !ok {
		return
	}
	switch x := v.(type) {
	case string:
		m, err := ParseFileMode(x)
		if err != nil {
			d.fail(pos, "template: %v", err)
			return
		}
		*dst = ptr(m)
	case int64:
		if x < 0 || x > 0o7777 {
			d.fail(pos, "template: perms %d is not a file mode", x)
			return
		}
		*dst = ptr(os.FileMode(x))
	default:
		d.fail(pos, "template: perms: want an octal mode like \"0644\"")
	}
}
