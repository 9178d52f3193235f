package acl

import "testing"

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`key_prefix "" { policy = "read" }`,
		`{"key": {"a": {"policy": "write"}}, "operator": "read"}`,
		`service "web" { policy = "write" intentions = "read" }`,
		`key "a" {`, `operator = "read"`, `{"key": [{"a": {"policy": "deny"}}]}`,
		"key \"\\x\" { policy = \"read\" }", `node "n" { policy = ["read"] }`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := Parse(text)
		if err != nil {
			return
		}
		a := New("t", r, PolicyDeny)
		for res := Resource(0); res < numResources; res++ {
			a.Allowed(res, text, Read)
		}
		_ = a.CheckKeyWritePrefix(text)
	})
}
