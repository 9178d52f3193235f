package registrator

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want func(c *Config) // sets the fields expected besides the defaults
		err  string
	}{
		{name: "seed 003: only the URI", args: []string{"consul://127.0.0.1:8500"},
			want: func(c *Config) {}},
		{name: "no URI: the local agent", args: nil,
			want: func(c *Config) { c.RegistryURI = DefaultRegistry }},
		{name: "the issue's command line",
			args: []string{"-internal", "-resync", "30", "-cleanup", "-deregister", "always", "consul://127.0.0.1:8500"},
			want: func(c *Config) { c.Internal, c.Resync, c.Cleanup = true, 30*time.Second, true }},
		{name: "every flag",
			args: []string{"-ip", "10.0.0.9", "-tags", "a, b,", "-ttl", "30", "-ttl-refresh", "10", "-retry-attempts", "-1",
				"-retry-interval", "500", "-deregister", "on-success", "-explicit", "-useIpFromLabel", "calico.ip",
				"-require-label", "-hostname", "node7", "-log-level", "debug", "consulkv://127.0.0.1:8500/svc"},
			want: func(c *Config) {
				c.HostIP, c.Tags, c.TTL, c.TTLRefresh = "10.0.0.9", []string{"a", "b"}, 30*time.Second, 10*time.Second
				c.RetryAttempts, c.RetryInterval, c.Deregister = -1, 500*time.Millisecond, DeregisterOnSuccess
				c.Explicit, c.UseIPFromLabel, c.RequireLabel, c.Hostname, c.LogLevel = true, "calico.ip", true, "node7", "debug"
				c.RegistryURI = "consulkv://127.0.0.1:8500/svc"
			}},
		{name: "bad -deregister", args: []string{"-deregister", "sometimes", "consul://"}, err: `-deregister must be "always" or "on-success"`},
		{name: "-ttl without -ttl-refresh", args: []string{"-ttl", "30", "consul://"}, err: "-ttl-refresh must be set"},
		{name: "-ttl-refresh not shorter", args: []string{"-ttl", "10", "-ttl-refresh", "10", "consul://"}, err: "shorter than -ttl"},
		{name: "two URIs", args: []string{"consul://a", "consul://b"}, err: "one registry URI expected"},
		{name: "flag after the URI", args: []string{"consul://a", "-internal"}, err: "options go before it"},
		{name: "unknown flag", args: []string{"-frob", "consul://"}, err: "flag provided but not defined: -frob"},
		{name: "bad -retry-attempts", args: []string{"-retry-attempts", "-2", "consul://"}, err: "-retry-attempts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			got, err := ParseArgs(tc.args, &out)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error()+out.String(), tc.err) {
					t.Fatalf("error %v (output %q), want %q", err, out.String(), tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Config{RegistryURI: "consul://127.0.0.1:8500", Deregister: DeregisterAlways,
				RetryInterval: 2 * time.Second, LogLevel: "info"}
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestHelpListsRegistratorFlags(t *testing.T) {
	var out bytes.Buffer
	_, err := ParseArgs([]string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, f := range []string{"-internal", "-ip", "-tags", "-ttl", "-ttl-refresh", "-resync", "-retry-attempts",
		"-retry-interval", "-cleanup", "-deregister", "-explicit", "-useIpFromLabel", "consul-tls://", "consulkv://"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("usage does not mention %s", f)
		}
	}
}
