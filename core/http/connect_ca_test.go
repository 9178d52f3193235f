package http_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

const (
	testClusterID = "11111111-2222-3333-4444-555555555555"
	connectHCL    = `connect { enabled = true  ca_config { cluster_id = "` + testClusterID + `" } }`
)

// activeRoots waits for the leader's CA and returns the roots.
func activeRoots(t *testing.T, c *api.Client) (*api.CARootList, *api.QueryMeta) {
	t.Helper()
	var list *api.CARootList
	var meta *api.QueryMeta
	waitfor.Until(t, 30*time.Second, "an active CA root", func() bool {
		var err error
		list, meta, err = c.Connect().CARoots(nil)
		return err == nil && list.ActiveRootID != ""
	})
	return list, meta
}

// verifyLeaf checks that a leaf certificate chains to root (through the
// intermediates its CertPEM carries), names the service's SPIFFE ID and
// goes with its private key; it returns the leaf.
func verifyLeaf(t *testing.T, leaf *api.LeafCert, rootPEM string, service string) *x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	rest := []byte(leaf.CertPEM)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) < 2 {
		t.Fatalf("CertPEM holds %d certificates, want the leaf and its intermediate", len(certs))
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(rootPEM)) {
		t.Fatal("root does not parse")
	}
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("leaf does not verify against the root: %v", err)
	}
	want := "spiffe://" + testClusterID + ".consul/ns/default/dc/dc1/svc/" + service
	if len(certs[0].URIs) != 1 || certs[0].URIs[0].String() != want || leaf.ServiceURI != want {
		t.Fatalf("leaf URI %v, ServiceURI %q, want %s", certs[0].URIs, leaf.ServiceURI, want)
	}
	if _, err := tls.X509KeyPair([]byte(leaf.CertPEM), []byte(leaf.PrivateKeyPEM)); err != nil {
		t.Fatalf("the private key does not go with the certificate: %v", err)
	}
	return certs[0]
}

func TestConnectCARootsAndLeaf(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(connectHCL))
	list, meta := activeRoots(t, a.Client)
	if meta.LastIndex == 0 || len(list.Roots) != 1 || list.TrustDomain != testClusterID+".consul" {
		t.Fatalf("roots: index %d, %+v", meta.LastIndex, list)
	}
	root := list.Roots[0]
	if !root.Active || root.ID != list.ActiveRootID || !strings.HasPrefix(root.RootCertPEM, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("root: %+v", root)
	}
	agentList, _, err := a.Client.Agent().ConnectCARoots(nil)
	if err != nil || agentList.ActiveRootID != list.ActiveRootID || len(agentList.Roots) != 1 {
		t.Fatalf("agent roots: %+v, %v", agentList, err)
	}

	// The whole shape, and never a private key.
	code, body := do(t, "GET", a.URL("/v1/connect/ca/roots"), "", "")
	if code != 200 || strings.Contains(body, "PRIVATE KEY") {
		t.Fatalf("roots: %d %s", code, body)
	}
	var raw struct {
		Roots []struct {
			SerialNumber                                      uint64
			SigningKeyID, ExternalTrustDomain, PrivateKeyType string
			NotBefore, NotAfter                               time.Time
			IntermediateCerts                                 []string
			PrivateKeyBits                                    int
			CreateIndex, ModifyIndex                          uint64
		}
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil || len(raw.Roots) != 1 {
		t.Fatalf("roots body: %v %s", err, body)
	}
	r := raw.Roots[0]
	if r.SerialNumber == 0 || r.SigningKeyID == "" || r.ExternalTrustDomain != testClusterID || r.PrivateKeyType != "ec" ||
		r.PrivateKeyBits != 256 || len(r.IntermediateCerts) != 1 || r.CreateIndex == 0 ||
		r.NotAfter.Sub(r.NotBefore) < 9*365*24*time.Hour {
		t.Fatalf("root fields: %+v", r)
	}

	// ?pem answers the chain: the root, then its intermediate.
	resp, err := http.Get(a.URL("/v1/connect/ca/roots?pem=true"))
	if err != nil {
		t.Fatal(err)
	}
	pemBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/pem-certificate-chain" ||
		strings.Count(string(pemBody), "BEGIN CERTIFICATE") != 2 || !strings.HasPrefix(string(pemBody), root.RootCertPEM) {
		t.Fatalf("pem: %s %q", ct, pemBody)
	}

	// A leaf for a service that need not be registered.
	leaf, lmeta, err := a.Client.Agent().ConnectCALeaf("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	cert := verifyLeaf(t, leaf, root.RootCertPEM, "web")
	if leaf.Service != "web" || leaf.SerialNumber == "" || lmeta.LastIndex == 0 || lmeta.LastIndex != leaf.ModifyIndex ||
		!leaf.ValidAfter.Before(time.Now()) || leaf.ValidBefore.Sub(time.Now()) < 71*time.Hour ||
		!cert.NotAfter.Equal(leaf.ValidBefore) {
		t.Fatalf("leaf: %+v index %d", leaf, lmeta.LastIndex)
	}
	again, _, err := a.Client.Agent().ConnectCALeaf("web", nil)
	if err != nil || again.SerialNumber != leaf.SerialNumber {
		t.Fatalf("a second request made another certificate: %v %s vs %s", err, again.SerialNumber, leaf.SerialNumber)
	}
	// A blocking request at the current index waits its time and keeps
	// the certificate.
	start := time.Now()
	blocked, bmeta, err := a.Client.Agent().ConnectCALeaf("web", &api.QueryOptions{WaitIndex: lmeta.LastIndex, WaitTime: 300 * time.Millisecond})
	if err != nil || blocked.SerialNumber != leaf.SerialNumber || bmeta.LastIndex != lmeta.LastIndex || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("blocking leaf: %v after %v", err, time.Since(start))
	}
	if code, body := do(t, "GET", a.URL("/v1/agent/connect/ca/leaf/"), "", ""); code != 400 || !strings.Contains(body, "Missing service name") {
		t.Fatalf("leaf without a name: %d %s", code, body)
	}
}

func TestConnectCALeafRenewedBeforeExpiry(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`connect { ca_config { cluster_id = "`+testClusterID+`" } }`))
	activeRoots(t, a.Client)
	cfg, _, err := a.Client.Connect().CAGetConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Config["SkipValidate"] = true
	cfg.Config["LeafCertTTL"] = "10s"
	if _, err := a.Client.Connect().CASetConfig(cfg, nil); err != nil {
		t.Fatal(err)
	}
	leaf, meta, err := a.Client.Agent().ConnectCALeaf("api", nil)
	if err != nil {
		t.Fatal(err)
	}
	if life := leaf.ValidBefore.Sub(leaf.ValidAfter); life > 2*time.Minute {
		t.Fatalf("leaf lives %v with LeafCertTTL 10s", life)
	}
	// A watcher holding the index gets the next certificate, made
	// before this one expires (ValidAfter is set a minute back).
	next, nmeta, err := a.Client.Agent().ConnectCALeaf("api", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if next.SerialNumber == leaf.SerialNumber || nmeta.LastIndex <= meta.LastIndex || !next.ValidAfter.Add(time.Minute).Before(leaf.ValidBefore) {
		t.Fatalf("renewal: serial %s→%s, index %d→%d, made at %v, old valid before %v",
			leaf.SerialNumber, next.SerialNumber, meta.LastIndex, nmeta.LastIndex, next.ValidAfter.Add(time.Minute), leaf.ValidBefore)
	}
}

func TestConnectCAConfigAndRotation(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(connectHCL))
	c := a.Client.Connect()
	first, rmeta := activeRoots(t, a.Client)
	cfg, _, err := c.CAGetConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := api.ParseConsulCAConfig(cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	want := &api.ConsulCAProviderConfig{IntermediateCertTTL: 365 * 24 * time.Hour}
	want.LeafCertTTL, want.RootCertTTL = 72*time.Hour, 10*365*24*time.Hour
	if cfg.Provider != "consul" || *parsed != *want || cfg.Config["PrivateKeyType"] != "ec" {
		t.Fatalf("config: %+v parsed %+v", cfg, parsed)
	}
	if _, body := do(t, "GET", a.URL("/v1/connect/ca/configuration"), "", ""); !strings.Contains(body, `"ClusterID":"`+testClusterID+`"`) {
		t.Fatalf("config body: %s", body)
	}

	// As the official client's own test does: TTLs as Go durations, and
	// test_state carried into State. The root stays.
	cfg.Config["PrivateKey"] = ""
	cfg.Config["IntermediateCertTTL"] = 300 * 24 * time.Hour
	cfg.Config["RootCertTTL"] = 11 * 365 * 24 * time.Hour
	cfg.Config["test_state"] = map[string]string{"foo": "bar"}
	if _, err := c.CASetConfig(cfg, nil); err != nil {
		t.Fatal(err)
	}
	updated, _, err := c.CAGetConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ = api.ParseConsulCAConfig(updated.Config)
	want.IntermediateCertTTL, want.RootCertTTL = 300*24*time.Hour, 11*365*24*time.Hour
	if *parsed != *want || updated.State["foo"] != "bar" || updated.ModifyIndex <= cfg.ModifyIndex {
		t.Fatalf("updated: %+v parsed %+v", updated, parsed)
	}
	if same, _, _ := c.CARoots(nil); same.ActiveRootID != first.ActiveRootID || len(same.Roots) != 1 {
		t.Fatalf("a change of TTLs rotated the root: %+v", same)
	}
	oldLeaf, _, err := a.Client.Agent().ConnectCALeaf("web", nil)
	if err != nil {
		t.Fatal(err)
	}

	// A new key type rotates: a new active root, the old one still
	// listed; a blocking read of the roots wakes; the leaf is made anew
	// under the new root.
	woke := make(chan *api.CARootList, 1)
	go func() {
		l, _, err := c.CARoots(&api.QueryOptions{WaitIndex: rmeta.LastIndex, WaitTime: time.Minute})
		if err != nil {
			l = nil
		}
		woke <- l
	}()
	updated.Config["PrivateKeyType"] = "rsa"
	updated.Config["PrivateKeyBits"] = 2048
	updated.State = nil
	if _, err := c.CASetConfig(updated, nil); err != nil {
		t.Fatal(err)
	}
	var rotated *api.CARootList
	select {
	case rotated = <-woke:
	case <-time.After(30 * time.Second):
		t.Fatal("a blocking roots query did not wake at the rotation")
	}
	if rotated == nil || len(rotated.Roots) != 2 || rotated.ActiveRootID == first.ActiveRootID || rotated.TrustDomain != first.TrustDomain {
		t.Fatalf("after rotation: %+v", rotated)
	}
	var newRoot *api.CARoot
	for _, r := range rotated.Roots {
		if r.ID == first.ActiveRootID && r.Active {
			t.Fatal("the old root is still active")
		}
		if r.ID == rotated.ActiveRootID {
			newRoot = r
		}
	}
	leaf, _, err := a.Client.Agent().ConnectCALeaf("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.SerialNumber == oldLeaf.SerialNumber {
		t.Fatal("the leaf was not made anew after the rotation")
	}
	cert := verifyLeaf(t, leaf, newRoot.RootCertPEM, "web")
	if _, ok := cert.PublicKey.(*ecdsa.PublicKey); ok {
		t.Fatal("the leaf key is still ec after the CA moved to rsa")
	}

	// A root of the operator's own: its key and certificate.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "own root"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(5 * 365 * 24 * time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	kder, _ := x509.MarshalECPrivateKey(key)
	ownCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	ownKey := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	if _, err := c.CASetConfig(&api.CAConfig{Provider: "consul", Config: map[string]interface{}{
		"PrivateKey": ownKey, "RootCert": ownCert}}, nil); err != nil {
		t.Fatal(err)
	}
	own, _, _ := c.CARoots(nil)
	if len(own.Roots) != 3 {
		t.Fatalf("after the second rotation: %d roots", len(own.Roots))
	}
	for _, r := range own.Roots {
		if r.Active != (r.RootCertPEM == ownCert) {
			t.Fatalf("root %s active=%v", r.ID, r.Active)
		}
	}
	leaf, _, err = a.Client.Agent().ConnectCALeaf("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	verifyLeaf(t, leaf, ownCert, "web")
	for _, path := range []string{"/v1/connect/ca/configuration", "/v1/connect/ca/roots", "/v1/agent/connect/ca/roots"} {
		if _, body := do(t, "GET", a.URL(path), "", ""); strings.Contains(body, "PRIVATE KEY") {
			t.Fatalf("%s shows a private key: %s", path, body)
		}
	}
}

func TestConnectCAConfigBadInput(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(connectHCL))
	activeRoots(t, a.Client)
	for _, c := range []struct{ body, want string }{
		{`{"Provider":"consul","Config":`, "Request decode failed"},
		{`{"Provider":"consul","Config":{},"Colour":"red"}`, `Colour`},
		{`{"Provider":"consul","Config":{"LeafCertTLL":"72h"}}`, `unknown key "LeafCertTLL"`},
		{`{"Provider":"vault","Config":{}}`, `CA provider "vault" is not supported`},
		{`{"Config":{}}`, "Provider is required"},
		{`{"Provider":"consul"}`, "Config is required"},
		{``, "Request body is empty"},
		{`{"Provider":"consul","Config":{"LeafCertTTL":"10m"}}`, "LeafCertTTL 10m0s: must be between 1h and 8760h"},
		{`{"Provider":"consul","Config":{"PrivateKeyType":"ec","PrivateKeyBits":2048}}`, "PrivateKeyBits 2048"},
		{`{"Provider":"consul","Config":{"PrivateKey":"not a key"}}`, "PrivateKey: no PEM block"},
		{`{"Provider":"consul","Config":{},"State":{"a":"b"}}`, "State is kept by the provider"},
		{`{"Provider":"consul","Config":{},"ClusterID":"other"}`, `ClusterID "other"`},
		{`{"Provider":"consul","Config":{"RotationPeriod":"2160h"}}`, "RotationPeriod: is not supported"},
	} {
		code, body := do(t, "PUT", a.URL("/v1/connect/ca/configuration"), "", c.body)
		if code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("PUT %s: %d %q, want 400 with %q", c.body, code, body, c.want)
		}
	}
	if list, _, _ := a.Client.Connect().CARoots(nil); len(list.Roots) != 1 {
		t.Fatalf("a refused change touched the roots: %+v", list)
	}
}

func TestConnectDisabled(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`connect { enabled = false }`))
	if _, _, err := a.Client.Connect().CARoots(nil); err == nil || !strings.Contains(err.Error(), "Connect must be enabled") {
		t.Fatalf("roots: %v", err)
	}
	if _, _, err := a.Client.Agent().ConnectCARoots(nil); err == nil || !strings.Contains(err.Error(), "Connect must be enabled") {
		t.Fatalf("agent roots: %v", err)
	}
	for _, path := range []string{"/v1/agent/connect/ca/leaf/web", "/v1/connect/ca/configuration"} {
		if code, body := do(t, "GET", a.URL(path), "", ""); code != 400 || !strings.Contains(body, "Connect must be enabled") {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
}

func TestConnectCAACL(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL+"\n"+connectHCL))
	root := tokenClient(t, a, "root")
	activeRoots(t, root)
	web := ruleToken(t, root, `service "web" { policy = "write" }`)
	opRead := ruleToken(t, root, `operator = "read"`)
	opWrite := ruleToken(t, root, `operator = "write"`)
	for _, c := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/v1/connect/ca/roots", "", "", 200},
		{"GET", "/v1/agent/connect/ca/roots", "", "", 200},
		{"GET", "/v1/agent/connect/ca/leaf/web", "", "", 403},
		{"GET", "/v1/agent/connect/ca/leaf/web", web, "", 200},
		{"GET", "/v1/agent/connect/ca/leaf/db", web, "", 403},
		{"GET", "/v1/connect/ca/configuration", opRead, "", 403},
		{"GET", "/v1/connect/ca/configuration", opWrite, "", 200},
		{"PUT", "/v1/connect/ca/configuration", opRead, `{"Provider":"consul","Config":{}}`, 403},
		{"PUT", "/v1/connect/ca/configuration", opWrite, `{"Provider":"consul","Config":{}}`, 200},
	} {
		code, body := do(t, c.method, a.URL(c.path), c.token, c.body)
		if code != c.want || (code == 403 && !strings.HasPrefix(body, "Permission denied")) {
			t.Errorf("%s %s with token %q: %d %s, want %d", c.method, c.path, c.token, code, body, c.want)
		}
	}
	// A leaf already made for a token with the right is not handed to
	// one without it.
	if code, _ := do(t, "GET", a.URL("/v1/agent/connect/ca/leaf/web"), opWrite, ""); code != 403 {
		t.Fatalf("a cached leaf went to a token without service:write: %d", code)
	}
}

func TestServiceMeshEndpointsNotImplemented(t *testing.T) {
	a := testagent.Start(t)
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/v1/connect/intentions", "service mesh intentions are not supported by beacon"},
		{"PUT", "/v1/connect/intentions/exact?source=a&destination=b", "service mesh intentions are not supported by beacon"},
		{"GET", "/v1/config/service-defaults", "service mesh config entries are not supported by beacon"},
		{"PUT", "/v1/config", "service mesh config entries are not supported by beacon"},
		{"GET", "/v1/peerings", "cluster peering is not supported by beacon"},
		{"POST", "/v1/peering/token", "cluster peering is not supported by beacon"},
		{"POST", "/v1/agent/connect/authorize", "service mesh authorization (intentions) is not supported"},
		{"POST", "/v1/connect/ca/sign", "this Connect CA endpoint is"},
		{"GET", "/v1/exported-services", "exported services"},
		{"GET", "/v1/imported-services", "imported services"},
		{"GET", "/v1/discovery-chain/web", "discovery chains are not supported"},
		{"GET", "/v1/catalog/connect/web", "Connect-capable"},
		{"GET", "/v1/health/connect/web", "Connect-capable"},
		{"GET", "/v1/health/ingress/web", "ingress gateways are not supported"},
		{"GET", "/v1/catalog/gateway-services/gw", "gateways are not supported"},
		{"GET", "/v1/internal/ui/service-topology/web", "topology is not supported"},
	} {
		code, body := do(t, c.method, a.URL(c.path), "", "")
		if code != 501 || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %q, want 501 with %q", c.method, c.path, code, body, c.want)
		}
	}
	var cfgErr error
	_, _, cfgErr = a.Client.ConfigEntries().List("service-defaults", nil)
	if cfgErr == nil || !strings.Contains(cfgErr.Error(), "501") {
		t.Fatalf("config entries through the client: %v", cfgErr)
	}
}

// TestConnectCASnapshotRestore: a snapshot carries the CA, keys
// included: after a restore the snapshot's root is active again and signs.
func TestConnectCASnapshotRestore(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(connectHCL))
	c := a.Client.Connect()
	before, _ := activeRoots(t, a.Client)
	snap, _, err := a.Client.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := io.ReadAll(snap)
	snap.Close()
	if _, err := c.CASetConfig(&api.CAConfig{Provider: "consul", Config: map[string]interface{}{"PrivateKeyType": "ec", "PrivateKeyBits": 384}}, nil); err != nil {
		t.Fatal(err)
	}
	if rotated, _, _ := c.CARoots(nil); rotated.ActiveRootID == before.ActiveRootID {
		t.Fatal("no rotation")
	}
	if _, _, err := a.Client.Agent().ConnectCALeaf("web", nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Client.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	after, _, err := c.CARoots(nil)
	if err != nil || after.ActiveRootID != before.ActiveRootID || len(after.Roots) != 1 || after.TrustDomain != before.TrustDomain {
		t.Fatalf("after restore: %+v %v", after, err)
	}
	cfg, _, err := c.CAGetConfig(nil)
	if err != nil || cfg.Config["PrivateKeyBits"] != float64(256) {
		t.Fatalf("config after restore: %+v %v", cfg, err)
	}
	leaf, _, err := a.Client.Agent().ConnectCALeaf("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	verifyLeaf(t, leaf, before.Roots[0].RootCertPEM, "web")
}
