package registry

import (
	"net/url"
	"strings"
	"testing"
)

func TestNewFromURI(t *testing.T) {
	cases := []struct {
		uri  string
		want string // String() of the registry, or the error's text
		err  bool
	}{
		{uri: "consul://127.0.0.1:8500", want: "consul agent at http://127.0.0.1:8500"},
		{uri: "consul://", want: "consul agent at http://127.0.0.1:8500"},
		{uri: "consul://10.0.0.5:8600", want: "consul agent at http://10.0.0.5:8600"},
		{uri: "consul-tls://consul.local:8501", want: "consul agent at https://consul.local:8501"},
		{uri: "consul-unix:///var/run/consul.sock", want: "consul agent at http:///var/run/consul.sock"},
		{uri: "consulkv://127.0.0.1:8500/services", want: "consul KV at 127.0.0.1:8500/services"},
		{uri: "consulkv://127.0.0.1:8500/a/b/", want: "consul KV at 127.0.0.1:8500/a/b"},
		{uri: "consulkv://127.0.0.1:8500", err: true, want: "needs a key prefix"},
		{uri: "consul-unix://", err: true, want: "needs a socket path"},
		{uri: "etcd://127.0.0.1:2379/x", err: true, want: `unsupported scheme "etcd"`},
		{uri: "127.0.0.1:8500", err: true, want: "first path segment in URL cannot contain colon"},
		{uri: "localhost", err: true, want: "has no scheme"},
	}
	for _, tc := range cases {
		t.Run(tc.uri, func(t *testing.T) {
			r, err := New(tc.uri, Options{})
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("New(%q) error %v, want one mentioning %q", tc.uri, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tc.uri, err)
			}
			if r.String() != tc.want {
				t.Errorf("New(%q) = %s, want %s", tc.uri, r, tc.want)
			}
		})
	}
}

func TestTLSEnvironment(t *testing.T) {
	env := map[string]string{"CONSUL_TLSCERT": "/c.pem", "CONSUL_TLSKEY": "/k.pem"}
	u, _ := url.Parse("consul-tls://h:8501")
	// Registrator's names are read when Consul's are not set; the files do
	// not exist, so the client setup reports them.
	_, err := clientConfig(u, func(k string) string { return env[k] }, 0)
	if err == nil || !strings.Contains(err.Error(), "TLS settings") {
		t.Fatalf("clientConfig with missing cert files: %v", err)
	}
}

func TestOwnerFlagsDifferPerHost(t *testing.T) {
	if ownerFlags("a") == ownerFlags("b") || ownerFlags("a") != ownerFlags("a") {
		t.Fatal("owner flags must be a stable hash of the host name")
	}
}
