package acl

import (
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	cases := map[string]string{
		"hcl": `
key_prefix "" { policy = "read" }
key "secret/x" { policy = "deny" }
key_prefix "app/" { policy = "write" }
service "web" { policy = "write" }
node_prefix "" { policy = "read" }
operator = "read"
`,
		"json": `{
  "key_prefix": {"": {"policy": "read"}, "app/": {"policy": "write"}},
  "key": {"secret/x": {"policy": "deny"}},
  "service": {"web": {"policy": "write"}},
  "node_prefix": {"": {"policy": "read"}},
  "operator": "read"
}`,
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			a := New("tok", r, PolicyDeny)
			checks := []struct {
				res  Resource
				name string
				need Access
				want bool
			}{
				{Key, "anything", Read, true},
				{Key, "anything", Write, false},
				{Key, "app/db", Write, true},
				{Key, "secret/x", Read, false},
				{Key, "secret/xy", Read, true},
				{Service, "web", Write, true},
				{Service, "web2", Read, false},
				{Node, "n1", Read, true},
				{Node, "n1", Write, false},
				{Operator, "", Read, true},
				{Operator, "", Write, false},
				{ACL, "", Read, false},
				{Keyring, "", Read, false},
			}
			for _, c := range checks {
				if got := a.Allowed(c.res, c.name, c.need); got != c.want {
					t.Errorf("%s:%s on %q = %v, want %v", c.res, c.need, c.name, got, c.want)
				}
			}
		})
	}
}

func TestMostSpecificRuleWins(t *testing.T) {
	r, err := Parse(`
key_prefix "a/" { policy = "deny" }
key_prefix "a/b/" { policy = "write" }
key "a/b/c" { policy = "read" }
key_prefix "a/b/c" { policy = "deny" }
`)
	if err != nil {
		t.Fatal(err)
	}
	a := New("t", r, PolicyAllow)
	for _, c := range []struct {
		key  string
		need Access
		want bool
	}{
		{"a/x", Read, false},     // a/ denies
		{"a/b/x", Write, true},   // the longer prefix wins
		{"a/b/c", Read, true},    // an exact rule beats every prefix
		{"a/b/c", Write, false},  // ... and only grants read
		{"a/b/cd", Read, false},  // the longest prefix, a/b/c, denies
		{"other", Write, true},   // default allow
		{"a/b/", Write, true},    // the prefix itself
		{"a", Write, true},       // not under a/
		{"a/b/c/d", Read, false}, // a/b/c prefix (deny) beats a/b/
	} {
		if got := a.Allowed(Key, c.key, c.need); got != c.want {
			t.Errorf("key:%s on %q = %v, want %v", c.need, c.key, got, c.want)
		}
	}
}

func TestListLevel(t *testing.T) {
	r, err := Parse(`key_prefix "l/" { policy = "list" }`)
	if err != nil {
		t.Fatal(err)
	}
	a := New("t", r, PolicyDeny)
	if !a.Allowed(Key, "l/x", List) || a.Allowed(Key, "l/x", Read) {
		t.Fatal("list grants listing only")
	}
}

func TestParseErrorsNameTheRule(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"key \"a\" {\n policy = \"rwite\"\n}", `line 2: key "a": invalid policy "rwite"`},
		{"\n\nfoo \"a\" { policy = \"read\" }", `line 3: foo: unknown rule`},
		{`service "x" { policy = "list" }`, `"list" applies to keys only`},
		{`operator = "list"`, `operator: "list" applies to keys only`},
		{`key "a" { }`, `key "a": missing policy`},
		{`key "a" { poilcy = "read" }`, `unknown field "poilcy"`},
		{`operator "x" { policy = "read" }`, `operator: takes a level`},
		{`key "a" {`, `rules:`},
		{`{"key": {"a": {"policy": 3}}}`, `expected a quoted level`},
		{`key = "read"`, `expected a name`},
	} {
		_, err := Parse(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", c.text, err, c.want)
		}
	}
}

func TestDenyWinsWhenMerging(t *testing.T) {
	a, _ := Parse(`key "k" { policy = "write" }`)
	b, _ := Parse(`key "k" { policy = "deny" }`)
	c, _ := Parse(`key "j" { policy = "read" }`)
	d, _ := Parse(`key "j" { policy = "write" }`)
	a.Merge(b)
	a.Merge(c)
	a.Merge(d)
	z := New("t", a, PolicyAllow)
	if z.Allowed(Key, "k", Read) {
		t.Error("deny in one policy must win")
	}
	if !z.Allowed(Key, "j", Write) {
		t.Error("the higher grant must win")
	}
}

func TestDefaultPolicyNeverManagesACLs(t *testing.T) {
	if AllowAll().Allowed(ACL, "", Read) {
		t.Fatal("default allow granted acl:read")
	}
	if !AllowAll().Allowed(Key, "x", Write) || DenyAll().Allowed(Key, "x", Read) {
		t.Fatal("allow/deny all")
	}
	r, _ := Parse(`acl = "write"`)
	if !New("t", r, PolicyDeny).Allowed(ACL, "", Write) {
		t.Fatal("acl = write must grant ACL management")
	}
	var none *Authorizer
	if !none.Allowed(ACL, "", Write) {
		t.Fatal("nil authorizer (ACLs off) allows everything")
	}
}

func TestKeyWritePrefix(t *testing.T) {
	r, _ := Parse(`
key_prefix "app/" { policy = "write" }
key "app/locked" { policy = "read" }
key_prefix "tmp/" { policy = "write" }
`)
	a := New("acc", r, PolicyDeny)
	if err := a.CheckKeyWritePrefix("tmp/"); err != nil {
		t.Fatal(err)
	}
	err := a.CheckKeyWritePrefix("app/")
	if err == nil || !strings.HasPrefix(err.Error(), "Permission denied") || !strings.Contains(err.Error(), "app/locked") {
		t.Fatalf("recursive delete over a read-only key: %v", err)
	}
	if a.CheckKeyWritePrefix("") == nil {
		t.Fatal("recursive delete of everything under deny")
	}
}

func TestPermissionDeniedText(t *testing.T) {
	err := DenyAll().Check(Key, "foo", Write)
	if err == nil || !strings.HasPrefix(err.Error(), "Permission denied") || !strings.Contains(err.Error(), `'key:write' on "foo"`) {
		t.Fatalf("got %v", err)
	}
}
