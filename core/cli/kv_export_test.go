package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

// What `kv export` writes, `kv import` reads back into another agent
// unchanged: binary values, flags, folder keys and keys that are not
// clean paths; under -prefix when asked.
func TestE2EKVExportImportRoundTrip(t *testing.T) {
	src := startAgent(t)
	kv := src.client.KV()
	pairs := []*api.KVPair{
		{Key: "app/cfg", Value: []byte("plain"), Flags: 7},
		{Key: "app/bin", Value: []byte{0, 1, 2, 0xff}},
		{Key: "app/dir/"},
		{Key: "app//odd", Value: []byte("kept as is")},
		{Key: "other/x", Value: []byte("not exported")},
	}
	for _, p := range pairs {
		if _, err := kv.Put(p, nil); err != nil {
			t.Fatal(err)
		}
	}
	out := src.ok("kv", "export", "app").stdout
	if !strings.HasPrefix(out, "[\n\t{\n\t\t\"key\": \"app//odd\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"a2VwdCBhcyBpcw==\"\n\t},") {
		t.Fatalf("export is not Consul's tab-indented array:\n%s", out)
	}
	var entries []map[string]interface{}
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 4 {
		t.Fatalf("export: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "app.json")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}

	dst := startAgent(t) // now CONSUL_HTTP_ADDR names this one
	r := dst.ok("kv", "import", "@"+file)
	if r.stdout != "Imported: app//odd\nImported: app/bin\nImported: app/cfg\nImported: app/dir/\n" {
		t.Fatalf("import said %q", r.stdout)
	}
	got, _, err := dst.client.KV().List("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("imported %d keys", len(got))
	}
	for i, want := range []*api.KVPair{pairs[3], pairs[1], pairs[0], pairs[2]} {
		if got[i].Key != want.Key || string(got[i].Value) != string(want.Value) || got[i].Flags != want.Flags {
			t.Errorf("key %d: %s=%q flags %d, want %s=%q flags %d", i, got[i].Key, got[i].Value, got[i].Flags, want.Key, want.Value, want.Flags)
		}
	}
	// Again under a prefix, from the JSON given on the command line.
	dst.want(0, "Imported: backup/app/cfg\n", "kv", "import", "-prefix", "backup/",
		`[{"key":"app/cfg","flags":7,"value":"cGxhaW4="}]`)
	if p, _, _ := dst.client.KV().Get("backup/app/cfg", nil); p == nil || string(p.Value) != "plain" || p.Flags != 7 {
		t.Fatalf("prefixed import: %+v", p)
	}
	// An empty tree exports as an empty array.
	dst.want(0, "[]\n", "kv", "export", "nothing/here")
}

// Bad input is refused whole, naming the problem, before any key is
// written.
func TestE2EKVImportRefusals(t *testing.T) {
	e := startAgent(t)
	for _, tc := range []struct{ data, want string }{
		{`[{"key":"a","flags":0,"value":"YQ=="},{"key":"b","flags":0,"value":"%%%"}]`, "Error base 64 decoding value for key b"},
		{`[{"key":"a","value":"YQ=="},{"value":"YQ=="}]`, "entry 2 has no key"},
		{`[{"key":"a","value":"YQ==","colour":"red"}]`, `unknown field "colour"`},
		{`[{"key":"a","value":"YQ==","namespace":"team"}]`, "namespaces and admin partitions"},
		{`{"key":"a"}`, "Cannot unmarshal data"},
		{`[] []`, "more follows the JSON array"},
		{"@/nonexistent/file.json", "reading data file"},
	} {
		r := e.beacon("kv", "import", tc.data)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("import %s: exit %d, stderr %q; want %q", tc.data, r.code, r.stderr, tc.want)
		}
	}
	r := e.beacon("kv", "import")
	if r.code != 1 || !strings.Contains(r.stderr, "Missing DATA argument") {
		t.Errorf("no DATA: %d %q", r.code, r.stderr)
	}
	if keys, _, _ := e.client.KV().Keys("", "", nil); len(keys) != 0 {
		t.Fatalf("a refused import wrote %v", keys)
	}
}
