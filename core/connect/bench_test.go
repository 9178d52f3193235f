package connect

import (
	"testing"
	"time"
)

// BenchmarkNewLeaf is what a new leaf costs: the agent's key and request,
// the leader's check and signature.
func BenchmarkNewLeaf(b *testing.B) {
	root, err := NewRoot("cid", DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	uri := ServiceURI(TrustDomain("cid"), "dc1", "web")
	for b.Loop() {
		_, csrPEM, err := NewLeafRequest(uri, "web", root.PrivateKeyType, root.PrivateKeyBits)
		if err != nil {
			b.Fatal(err)
		}
		csr, err := ParseCSR(csrPEM)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := SignLeaf(root, csr, "web", time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
