package cli

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestParseHTTPAddr(t *testing.T) {
	cases := []struct {
		in      string
		want    httpAddr
		str     string
		wantErr string
	}{
		{in: "127.0.0.1:8500", want: httpAddr{Host: "127.0.0.1:8500"}, str: "127.0.0.1:8500"},
		{in: "localhost:8500", want: httpAddr{Host: "localhost:8500"}, str: "localhost:8500"},
		{in: "[::1]:8500", want: httpAddr{Host: "[::1]:8500"}, str: "[::1]:8500"},
		{in: " 10.0.0.1:8500 ", want: httpAddr{Host: "10.0.0.1:8500"}, str: "10.0.0.1:8500"},
		{in: "http://127.0.0.1:8500", want: httpAddr{Scheme: "http", Host: "127.0.0.1:8500"}, str: "http://127.0.0.1:8500"},
		{in: "https://consul.example.com:8501", want: httpAddr{Scheme: "https", Host: "consul.example.com:8501"}, str: "https://consul.example.com:8501"},
		{in: "http://127.0.0.1:8500/", want: httpAddr{Scheme: "http", Host: "127.0.0.1:8500"}, str: "http://127.0.0.1:8500"},
		{in: "https://gw.example.com/consul", want: httpAddr{Scheme: "https", Host: "gw.example.com", Path: "consul"}, str: "https://gw.example.com/consul"},
		{in: "unix:///var/run/consul.sock", want: httpAddr{Scheme: "unix", Host: "/var/run/consul.sock"}, str: "unix:///var/run/consul.sock"},
		{in: "", wantErr: "empty HTTP address"},
		{in: "unix://", wantErr: "missing socket path"},
		{in: "ftp://host:21", wantErr: `unknown scheme "ftp"`},
		{in: "http://", wantErr: "missing host"},
		{in: "http:///path", wantErr: "missing host"},
		{in: "host name:80", wantErr: "invalid host"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseHTTPAddr(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.str {
				t.Errorf("String() = %q, want %q", got.String(), tc.str)
			}
		})
	}
}

// parseHTTPFlags parses args as a subcommand would and returns the config.
func parseHTTPFlags(t *testing.T, args ...string) *api.Config {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var hf httpFlags
	hf.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg, err := hf.config()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func clearConsulEnv(t *testing.T) {
	for _, name := range []string{api.HTTPAddrEnvName, api.HTTPTokenEnvName, api.HTTPTokenFileEnvName,
		api.HTTPSSLEnvName, api.HTTPCAFile, api.HTTPCAPath, api.HTTPClientCert, api.HTTPClientKey, api.HTTPTLSServerName} {
		t.Setenv(name, "")
	}
}

func TestHTTPFlagsDefaults(t *testing.T) {
	clearConsulEnv(t)
	cfg := parseHTTPFlags(t)
	if cfg.Address != defaultHTTPAddr || cfg.Scheme != "http" {
		t.Errorf("default address = %s://%s, want http://%s", cfg.Scheme, cfg.Address, defaultHTTPAddr)
	}
	if cfg.Token != "" || cfg.Datacenter != "" {
		t.Errorf("unexpected token %q or datacenter %q", cfg.Token, cfg.Datacenter)
	}
}

func TestHTTPFlagsFromEnv(t *testing.T) {
	clearConsulEnv(t)
	t.Setenv(api.HTTPAddrEnvName, "https://10.1.2.3:8501")
	t.Setenv(api.HTTPTokenEnvName, "env-token")
	t.Setenv(api.HTTPCAFile, "/etc/ca.pem")
	t.Setenv(api.HTTPTLSServerName, "server.dc1.consul")
	cfg := parseHTTPFlags(t)
	if cfg.Address != "https://10.1.2.3:8501" || cfg.Scheme != "https" {
		t.Errorf("address = %s %s", cfg.Scheme, cfg.Address)
	}
	if cfg.Token != "env-token" {
		t.Errorf("token = %q", cfg.Token)
	}
	if cfg.TLSConfig.CAFile != "/etc/ca.pem" || cfg.TLSConfig.Address != "server.dc1.consul" {
		t.Errorf("tls = %+v", cfg.TLSConfig)
	}
}

func TestHTTPFlagsOverrideEnv(t *testing.T) {
	clearConsulEnv(t)
	t.Setenv(api.HTTPAddrEnvName, "10.9.9.9:8500")
	t.Setenv(api.HTTPTokenEnvName, "env-token")
	cfg := parseHTTPFlags(t, "-http-addr", "unix:///tmp/agent.sock", "-token", "flag-token",
		"-datacenter", "dc2", "-stale", "-ca-file", "ca.pem", "-client-cert", "c.pem", "-client-key", "k.pem")
	if cfg.Address != "unix:///tmp/agent.sock" {
		t.Errorf("address = %q", cfg.Address)
	}
	if cfg.Token != "flag-token" || cfg.Datacenter != "dc2" {
		t.Errorf("token %q datacenter %q", cfg.Token, cfg.Datacenter)
	}
	if cfg.TLSConfig.CAFile != "ca.pem" || cfg.TLSConfig.CertFile != "c.pem" || cfg.TLSConfig.KeyFile != "k.pem" {
		t.Errorf("tls = %+v", cfg.TLSConfig)
	}
}

func TestHTTPFlagsTokenFileWins(t *testing.T) {
	clearConsulEnv(t)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var hf httpFlags
	hf.register(fs)
	if err := fs.Parse([]string{"-token", "flag-token", "-token-file", file}); err != nil {
		t.Fatal(err)
	}
	cfg, err := hf.config()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.NewClient(cfg); err != nil { // reads the token file
		t.Fatal(err)
	}
	if cfg.Token != "file-token" {
		t.Errorf("token = %q, want the token file's content", cfg.Token)
	}
}

func TestHTTPFlagsBadAddress(t *testing.T) {
	clearConsulEnv(t)
	code, _, errOut := runArgs("beacon", "kv", "get", "-http-addr", "gopher://x", "k")
	if code != 1 || !strings.Contains(errOut, `unknown scheme "gopher"`) {
		t.Errorf("code %d stderr %q", code, errOut)
	}
}

func TestKeyValueFlag(t *testing.T) {
	m := keyValueFlag{}
	for _, v := range []string{"a=1", "b=x=y", "c="} {
		if err := m.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	if m["a"] != "1" || m["b"] != "x=y" || m["c"] != "" {
		t.Errorf("got %v", map[string]string(m))
	}
	for _, bad := range []string{"novalue", "=v"} {
		if err := m.Set(bad); err == nil {
			t.Errorf("Set(%q) succeeded", bad)
		}
	}
	if m.String() != "a=1,b=x=y,c=" {
		t.Errorf("String() = %q", m.String())
	}
}
