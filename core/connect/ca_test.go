package connect

import (
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func verify(t *testing.T, rootPEM string, intermediates []string, certPEM string) *x509.Certificate {
	t.Helper()
	leaf, err := ParseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(rootPEM))
	for _, p := range intermediates {
		inter.AppendCertsFromPEM([]byte(p))
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	return leaf
}

func TestRootSignsLeavesThroughItsIntermediates(t *testing.T) {
	for _, kt := range []struct {
		typ  string
		bits int
	}{{"ec", 256}, {"ec", 384}, {"rsa", 2048}} {
		c := DefaultConfig()
		c.PrivateKeyType, c.PrivateKeyBits = kt.typ, kt.bits
		root, err := NewRoot("cid", c)
		if err != nil {
			t.Fatal(err)
		}
		if root.PrivateKeyType != kt.typ || root.PrivateKeyBits != kt.bits || len(root.IntermediateCerts) != 1 || root.ID == "" ||
			!strings.Contains(root.RootKey, "PRIVATE KEY") || !strings.Contains(root.SigningKey, "PRIVATE KEY") {
			t.Fatalf("%s root: %+v", kt.typ, root.CARoot)
		}
		uri := ServiceURI(TrustDomain("cid"), "dc1", "web")
		_, csrPEM, err := NewLeafRequest(uri, "web", root.PrivateKeyType, root.PrivateKeyBits)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := ParseCSR(csrPEM)
		if err != nil {
			t.Fatal(err)
		}
		issued, err := SignLeaf(root, csr, "web", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		old := verify(t, root.RootCert, root.IntermediateCerts, issued.CertPEM)
		if old.URIs[0].String() != "spiffe://cid.consul/ns/default/dc/dc1/svc/web" || old.NotAfter.Sub(old.NotBefore) > time.Hour+2*time.Minute {
			t.Fatalf("leaf: %v %v-%v", old.URIs, old.NotBefore, old.NotAfter)
		}
		// A new intermediate signs from now on; the old one stays listed,
		// so leaves it signed still verify.
		before := root.SigningKeyID
		if err := RenewIntermediate(root, "cid", 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		if len(root.IntermediateCerts) != 2 || root.SigningKeyID == before {
			t.Fatalf("renewal: %d intermediates, key id %s", len(root.IntermediateCerts), root.SigningKeyID)
		}
		verify(t, root.RootCert, root.IntermediateCerts, issued.CertPEM)
		renewed, err := SignLeaf(root, csr, "web", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		leaf := verify(t, root.RootCert, root.IntermediateCerts[1:], renewed.CertPEM)
		if string(leaf.AuthorityKeyId) == string(old.AuthorityKeyId) {
			t.Fatal("the renewed intermediate did not sign the new leaf")
		}
	}
}

func TestParseConfig(t *testing.T) {
	var raw map[string]interface{}
	// As the official client sends it: Go durations are numbers of
	// nanoseconds, and keys in either spelling.
	json.Unmarshal([]byte(`{"LeafCertTTL":"24h","intermediate_cert_ttl":25920000000000000,"PrivateKeyType":"rsa","test_state":{"a":"b"}}`), &raw)
	c, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.LeafCertTTL != 24*time.Hour || c.IntermediateCertTTL != 300*24*time.Hour || c.RootCertTTL != DefaultRootCertTTL ||
		c.PrivateKeyBits != 2048 || c.TestState["a"] != "b" {
		t.Fatalf("parsed: %+v", c)
	}
	back, err := ParseConfig(c.Map())
	if err != nil || back.LeafCertTTL != c.LeafCertTTL || back.PrivateKeyBits != 2048 {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	for raw, want := range map[string]string{
		`{"LeafCertTTL":"30m"}`:                             "LeafCertTTL 30m0s",
		`{"LeafCertTTL":"30m","SkipValidate":true}`:         "",
		`{"LeafCertTTL":"48h","IntermediateCertTTL":"72h"}`: "IntermediateCertTTL 72h0m0s",
		`{"RootCertTTL":"100h"}`:                            "RootCertTTL 100h0m0s",
		`{"PrivateKeyType":"rsa","PrivateKeyBits":1024}`:    "PrivateKeyBits 1024",
		`{"CSRMaxPerSecond":50}`:                            "rate limits on signing are not supported",
		`{"CSRMaxPerSecond":0}`:                             "",
		`{"LeafCertTTL":true}`:                              "LeafCertTTL",
		`{"Address":"x"}`:                                   `unknown key "Address"`,
	} {
		var m map[string]interface{}
		json.Unmarshal([]byte(raw), &m)
		_, err := ParseConfig(m)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
}
