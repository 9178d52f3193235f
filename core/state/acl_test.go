package state

import (
	"errors"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

func (s *testStore) acl(req *structs.ACLRequest) error {
	s.t.Helper()
	s.idx++
	_, err := s.Apply(s.idx, &structs.Command{Type: structs.ACLRequestType, ACL: req})
	return err
}

func TestACLBootstrapOnce(t *testing.T) {
	s := newTestStore(t)
	tok := &structs.ACLToken{AccessorID: "a1", SecretID: "s1"}
	if err := s.acl(&structs.ACLRequest{Op: structs.ACLBootstrap, ACLToken: tok}); err != nil {
		t.Fatal(err)
	}
	first := s.idx
	err := s.acl(&structs.ACLRequest{Op: structs.ACLBootstrap, ACLToken: &structs.ACLToken{AccessorID: "a2", SecretID: "s2"}})
	var be *structs.ACLBootstrapError
	if !errors.As(err, &be) || be.ResetIndex != first || !errors.Is(err, structs.ErrACLBootstrapDisabled) {
		t.Fatalf("second bootstrap: %v", err)
	}
	if err.Error() != "ACL bootstrap no longer allowed (reset index: 1)" {
		t.Fatalf("message: %q", err)
	}
	if _, got, _ := s.ACLTokenBySecret(nil, "s2"); got != nil {
		t.Fatal("the refused bootstrap stored its token")
	}
}

func TestACLTokensAndPolicies(t *testing.T) {
	s := newTestStore(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.acl(&structs.ACLRequest{Op: structs.ACLPolicySet, ACLPolicy: &structs.ACLPolicy{ID: "p1", Name: "read-all", Rules: `key_prefix "" { policy = "read" }`}}))
	if err := s.acl(&structs.ACLRequest{Op: structs.ACLPolicySet, ACLPolicy: &structs.ACLPolicy{ID: "p2", Name: "READ-ALL"}}); err == nil {
		t.Fatal("a second policy with the same name (any case)")
	}
	if err := s.acl(&structs.ACLRequest{Op: structs.ACLTokenSet, ACLToken: &structs.ACLToken{AccessorID: "t0", SecretID: "x", Policies: []structs.ACLLink{{ID: "nope"}}}}); err == nil {
		t.Fatal("a token linking to a missing policy")
	}
	must(s.acl(&structs.ACLRequest{Op: structs.ACLTokenSet, ACLToken: &structs.ACLToken{AccessorID: "t1", SecretID: "sec1", Policies: []structs.ACLLink{{ID: "p1"}}}}))
	if err := s.acl(&structs.ACLRequest{Op: structs.ACLTokenSet, ACLToken: &structs.ACLToken{AccessorID: "t2", SecretID: "sec1"}}); err == nil {
		t.Fatal("two tokens with one secret")
	}
	id, err := s.ACLIdentity("sec1")
	if err != nil || id == nil || id.Token.AccessorID != "t1" || len(id.Policies) != 1 || id.Token.Policies[0].Name != "read-all" {
		t.Fatalf("identity: %+v %v", id, err)
	}
	if id, _ := s.ACLIdentity("sec"); id != nil {
		t.Fatal("a prefix of a secret resolved")
	}
	// Renaming a policy renames the links; deleting it drops them.
	must(s.acl(&structs.ACLRequest{Op: structs.ACLPolicySet, ACLPolicy: &structs.ACLPolicy{ID: "p1", Name: "readers"}}))
	_, tok, _ := s.ACLTokenByAccessor(nil, "t1")
	if tok.Policies[0].Name != "readers" {
		t.Fatalf("link after rename: %+v", tok.Policies)
	}
	must(s.acl(&structs.ACLRequest{Op: structs.ACLPolicyDelete, ID: "p1"}))
	_, tok, _ = s.ACLTokenByAccessor(nil, "t1")
	if len(tok.Policies) != 0 {
		t.Fatalf("link after delete: %+v", tok.Policies)
	}
	// ACL rows travel in snapshots.
	r := roundTrip(t, s.Store)
	if id, _ := r.ACLIdentity("sec1"); id == nil || id.Token.AccessorID != "t1" {
		t.Fatal("token lost in a snapshot")
	}
}

func TestKVVisibleIndexIgnoresHiddenKeys(t *testing.T) {
	s := newTestStore(t)
	s.kv(structs.KVSet, "app/a", "1", 0)
	visible := func(k string) bool { return k[:4] == "app/" }
	idx, list, hidden, _ := s.KVListVisible(nil, "", visible)
	s.kv(structs.KVSet, "secret/x", "1", 0)
	s.kv(structs.KVDelete, "secret/x", "", 0)
	again, list2, _, _ := s.KVListVisible(nil, "", visible)
	if again != idx || len(list) != 1 || len(list2) != 1 || hidden != 0 {
		t.Fatalf("hidden writes moved the index: %d -> %d", idx, again)
	}
	s.kv(structs.KVDelete, "app/a", "", 0)
	if after, _, _, _ := s.KVListVisible(nil, "", visible); after <= idx {
		t.Fatal("a visible delete must move the index")
	}
	keysIdx, _, _, _ := s.KVKeysVisible(nil, "", "/", visible)
	if keysIdx != s.idx {
		t.Fatalf("keys index %d, want %d", keysIdx, s.idx)
	}
}
