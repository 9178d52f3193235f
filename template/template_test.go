package template

import (
	"errors"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/watcher/dep"
)

func missingKeys(res *Result) []string {
	var out []string
	for _, m := range res.Missing {
		out = append(out, m.Dep.String()+": "+m.Reason)
	}
	return out
}

func usedKeys(res *Result) []string {
	var out []string
	for _, d := range res.Used {
		out = append(out, d.String())
	}
	return out
}

// Dependencies are discovered while rendering: a first pass with no data
// knows only the service list; once it has it, the per-service queries
// show up.
func TestDependenciesDiscoveredPassByPass(t *testing.T) {
	src := `{{range services}}{{$s := service .Name}}{{.Name}}:{{len $s}} {{end}}`
	tm, err := New("x.ctmpl", src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := MapRecaller{}
	res, err := tm.Execute(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(missingKeys(res), ","); got != "catalog.services(): no data yet" {
		t.Fatalf("first pass waits for %q", got)
	}
	data["catalog.services()"] = []*dep.CatalogSnippet{{Name: "a"}, {Name: "b"}}
	res, _ = tm.Execute(data)
	if got := strings.Join(usedKeys(res), ","); got != "catalog.services(),health.service(a),health.service(b)" {
		t.Fatalf("second pass used %q", got)
	}
	if len(res.Missing) != 2 {
		t.Fatalf("second pass waits for %v", missingKeys(res))
	}
	data["health.service(a)"] = []*dep.HealthService{{Name: "a"}}
	data["health.service(b)"] = []*dep.HealthService{}
	res, _ = tm.Execute(data)
	if len(res.Missing) != 0 || string(res.Output) != "a:1 b:0 " {
		t.Fatalf("third pass: missing %v output %q", missingKeys(res), res.Output)
	}
}

func TestMissingValues(t *testing.T) {
	absent := (*dep.KeyPair)(nil)
	data := MapRecaller{
		"kv.get(gone)":     absent,
		"kv.list(empty)":   []*dep.KeyPair{{Key: "", Value: "folder"}},
		"catalog.node(n9)": (*dep.CatalogNode)(nil),
	}
	text := "n/a"
	cases := []struct {
		name, src   string
		o           Options
		want        string
		waitsFor    string
		missingNone bool
	}{
		{name: "key waits for a key that does not exist", src: `[{{ key "gone" }}]`, waitsFor: "kv.get(gone): the key does not exist"},
		{name: "key with a default policy renders the default", src: `[{{ key "gone" }}]`, o: Options{Default: &text}, want: "[n/a]"},
		{name: "keyExists does not wait", src: `{{ keyExists "gone" }}`, want: "false"},
		{name: "keyOrDefault does not wait", src: `{{ keyOrDefault "gone" "d" }}`, want: "d"},
		{name: "keyOrDefault waits for the first answer", src: `{{ keyOrDefault "never-fetched" "d" }}`, waitsFor: "kv.get(never-fetched): no data yet"},
		{name: "ls of an empty prefix renders nothing", src: `[{{ range ls "empty" }}x{{ end }}]`, want: "[]"},
		{name: "safeLs of an empty prefix waits", src: `{{ range safeLs "empty" }}x{{ end }}`, waitsFor: "kv.list(empty): no keys under the prefix"},
		{name: "safeTree of an empty prefix waits", src: `{{ range safeTree "empty" }}x{{ end }}`, waitsFor: "kv.list(empty): no keys under the prefix"},
		{name: "safeTree with a default policy renders", src: `[{{ range safeTree "empty" }}x{{ end }}]`, o: Options{Default: &text}, want: "[]"},
		{name: "node not in the catalog is nil, not a wait", src: `[{{ with node "n9" }}x{{ end }}]`, want: "[]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := render(t, tc.src, data, tc.o)
			got := strings.Join(missingKeys(res), ",")
			if got != tc.waitsFor {
				t.Fatalf("waits for %q, want %q", got, tc.waitsFor)
			}
			if tc.waitsFor == "" && string(res.Output) != tc.want {
				t.Errorf("output %q, want %q", res.Output, tc.want)
			}
		})
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	cases := []struct{ src, want string }{
		{"line one\n{{ nosuchfunc }}\n", `/etc/ctmpl/app.ctmpl:2: function "nosuchfunc" not defined`},
		{"a\nb\n{{ if }}\n", `/etc/ctmpl/app.ctmpl:3: missing value for if`},
		{"{{ range services }}\n", `/etc/ctmpl/app.ctmpl:2: unexpected EOF`},
	}
	for _, tc := range cases {
		_, err := New("/etc/ctmpl/app.ctmpl", tc.src, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrParse) {
			t.Errorf("parse %q: error %v, want one containing %q", tc.src, err, tc.want)
		}
	}
}

func TestExecuteErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`{{ service "web|bogus" }}`, `unknown health status "bogus"`},
		{`{{ service "a b" }}`, `service "a b": bad query`},
		{`{{ indent -1 "x" }}`, "must not be negative"},
		{`{{ "x" | parseInt }}`, `"x" is not an integer`},
	}
	for _, tc := range cases {
		tm, err := New("e.ctmpl", tc.src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tm.Execute(MapRecaller{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "e.ctmpl:1") {
			t.Errorf("%s: error %v, want one with e.ctmpl:1 and %q", tc.src, err, tc.want)
		}
	}
}

func TestDelimitersAndMissingKeyOption(t *testing.T) {
	res := render(t, `<% key "k" %> {{ not a template }}`, MapRecaller{"kv.get(k)": &dep.KeyPair{Value: "v"}}, Options{LeftDelim: "<%", RightDelim: "%>"})
	if string(res.Output) != "v {{ not a template }}" {
		t.Errorf("custom delimiters: %q", res.Output)
	}

	src := `{{ $m := parseJSON "{\"a\":1}" }}[{{ $m.b }}]`
	res = render(t, src, MapRecaller{}, Options{})
	if string(res.Output) != "[<no value>]" {
		t.Errorf("missing map key without the option: %q", res.Output)
	}
	tm, _ := New("k.ctmpl", src, Options{ErrMissingKey: true})
	if _, err := tm.Execute(MapRecaller{}); err == nil || !strings.Contains(err.Error(), `map has no entry for key "b"`) {
		t.Errorf("error_on_missing_key: got %v", err)
	}
}

func TestDenylist(t *testing.T) {
	tm, err := New("d.ctmpl", `{{ env "HOME" }}`, Options{Denylist: []string{"env"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Execute(MapRecaller{}); err == nil || !strings.Contains(err.Error(), `function "env" is disabled`) {
		t.Errorf("denied function: %v", err)
	}
}

// A template that calls service for the same name many times parses the
// query once and records the dependency once.
func TestRepeatedQueriesRecordedOnce(t *testing.T) {
	res := render(t, `{{ range loop 100 }}{{ service "web" }}{{ end }}{{ service "web" "any" }}{{ service "web|any" }}`, MapRecaller{}, Options{})
	if got := strings.Join(usedKeys(res), ","); got != "health.service(web),health.service(web|any)" {
		t.Errorf("used %q", got)
	}
}
