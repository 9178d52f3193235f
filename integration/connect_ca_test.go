package integration

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// chainsTo reports whether a leaf's CertPEM (the leaf, then its
// intermediate) verifies against rootPEM.
func chainsTo(t *testing.T, leaf *api.LeafCert, rootPEM string) error {
	t.Helper()
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(rootPEM))
	b, rest := pem.Decode([]byte(leaf.CertPEM))
	if b == nil {
		t.Fatalf("leaf CertPEM: %q", leaf.CertPEM)
	}
	inter.AppendCertsFromPEM(rest)
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

// TestConnectCAAcrossCluster: the leader makes the CA in raft state, so
// every server holds the same root, a client agent's leaf chains to it,
// and a new leader keeps it and signs with it after the old one dies.
func TestConnectCAAcrossCluster(t *testing.T) {
	const cid = "22222222-3333-4444-5555-666666666666"
	c := newCluster(t, 3, 1, map[string]interface{}{
		"connect": map[string]interface{}{"enabled": true, "ca_config": map[string]interface{}{"cluster_id": cid}},
	})
	c.ready(60 * time.Second)
	cl := c.clients()[0].client
	var roots *api.CARootList
	waitfor.Until(t, 30*time.Second, "the CA roots through the client agent", func() bool {
		var err error
		roots, _, err = cl.Agent().ConnectCARoots(nil)
		return err == nil && roots.ActiveRootID != ""
	})
	if roots.TrustDomain != cid+".consul" || len(roots.Roots) != 1 {
		t.Fatalf("roots: %+v", roots)
	}
	for _, s := range c.servers() {
		waitfor.Until(t, 30*time.Second, s.name+"'s own copy of the root", func() bool {
			l, _, err := s.client.Connect().CARoots(&api.QueryOptions{AllowStale: true})
			return err == nil && l.ActiveRootID == roots.ActiveRootID
		})
	}
	leaf, _, err := cl.Agent().ConnectCALeaf("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := chainsTo(t, leaf, roots.Roots[0].RootCertPEM); err != nil || leaf.ServiceURI != "spiffe://"+cid+".consul/ns/default/dc/dc1/svc/web" {
		t.Fatalf("leaf through the client agent: %v %s", err, leaf.ServiceURI)
	}

	old := c.leader(30 * time.Second)
	old.kill()
	c.leader(60 * time.Second)
	// The new leader signs with the same root; a rotation through the
	// client agent reaches it and the client's leaf follows.
	waitfor.Until(t, 60*time.Second, "a leaf from the new leader", func() bool {
		l, _, err := cl.Agent().ConnectCALeaf("api", nil)
		return err == nil && chainsTo(t, l, roots.Roots[0].RootCertPEM) == nil
	})
	if _, err := cl.Connect().CASetConfig(&api.CAConfig{Provider: "consul", Config: map[string]interface{}{"PrivateKeyBits": 384}}, nil); err != nil {
		t.Fatal(err)
	}
	after, _, err := cl.Connect().CARoots(nil)
	if err != nil || len(after.Roots) != 2 || after.ActiveRootID == roots.ActiveRootID {
		t.Fatalf("after rotation: %+v %v", after, err)
	}
	var active string
	for _, r := range after.Roots {
		if r.Active {
			active = r.RootCertPEM
		}
	}
	next, _, err := cl.Agent().ConnectCALeaf("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := chainsTo(t, next, active); err != nil || next.SerialNumber == leaf.SerialNumber {
		t.Fatalf("leaf after rotation: %v (serial %s, was %s)", err, next.SerialNumber, leaf.SerialNumber)
	}
}
