package registry

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/certs/certstest"
	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/registrator/service"
)

// consul-tls:// reaches an agent that serves only HTTPS and requires client
// certificates, with the files named by Registrator's environment.
func TestConsulTLSAgainstHTTPS(t *testing.T) {
	f := certstest.Write(t, "server-dc1", "client-dc1")
	a := testagent.Start(t, testagent.WithJSON(fmt.Sprintf(`{
	  "ports": {"http": -1, "https": 0}, "verify_incoming": true,
	  "ca_file": %q, "cert_file": %q, "key_file": %q}`, f["ca"], f["server-dc1"], f["server-dc1-key"])))
	t.Setenv(api.HTTPCAFile, f["ca"])
	t.Setenv(api.HTTPClientCert, f["client-dc1"])
	t.Setenv(api.HTTPClientKey, f["client-dc1-key"])
	t.Setenv(api.HTTPSSLEnvName, "")
	t.Setenv(api.HTTPAddrEnvName, "")
	r, err := New("consul-tls://"+a.HTTPSAddr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("ping over HTTPS: %v", err)
	}
	s := &service.Service{ID: "h:web:80", Name: "web", Port: 8080, Tags: []string{"calico"},
		Meta: map[string]string{service.MetaHost: "h", service.MetaContainer: "c1"}}
	if err := r.Register(ctx, s); err != nil {
		t.Fatalf("register over HTTPS: %v", err)
	}
	got, err := r.Services(ctx, "h")
	if err != nil || len(got) != 1 || got[0].Digest != r.Digest(s) {
		t.Fatalf("services over HTTPS: %v %v", got, err)
	}
	if err := r.Deregister(ctx, s); err != nil {
		t.Fatalf("deregister over HTTPS: %v", err)
	}

	// Without the client certificate the agent refuses.
	t.Setenv(api.HTTPClientCert, "")
	t.Setenv(api.HTTPClientKey, "")
	r, err = New("consul-tls://"+a.HTTPSAddr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Ping(ctx); err == nil || !strings.Contains(err.Error(), a.HTTPSAddr) {
		t.Fatalf("ping without a client certificate: %v", err)
	}
}
