package template

import (
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/watcher/dep"
)

// render parses and executes src against data, failing the test on error.
func render(t *testing.T, src string, data MapRecaller, o Options) *Result {
	t.Helper()
	tm, err := New("test.ctmpl", src, o)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	res, err := tm.Execute(data)
	if err != nil {
		t.Fatalf("execute %q: %v", src, err)
	}
	return res
}

func TestHelperFunctions(t *testing.T) {
	pairs := []*dep.KeyPair{
		{Key: "maxconns", Value: "15"},
		{Key: "admin/port", Value: "1234"},
		{Key: "admin/host", Value: "h"},
		{Key: "nested/a/b", Value: "deep"},
	}
	web := []*dep.HealthService{
		{Node: "n1", ID: "w1", Name: "web", Address: "10.0.0.1", Port: 80, Tags: dep.ServiceTags{"prod", "v1"}, ServiceMeta: map[string]string{"env": "prod", "shard": "2"}},
		{Node: "n2", ID: "w2", Name: "web", Address: "10.0.0.2", Port: 80, Tags: dep.ServiceTags{"v1"}, ServiceMeta: map[string]string{"env": "dev.x"}},
	}
	data := MapRecaller{
		"kv.list(config)":      pairs,
		"health.service(web)":  web,
		"kv.get(user/info)":    &dep.KeyPair{Key: "user/info", Value: `{"name":"ann","tags":["a","b"]}`, Exists: true},
		"kv.get(feature/on)":   &dep.KeyPair{Key: "feature/on", Value: "true", Exists: true},
		"kv.get(y)":            &dep.KeyPair{Key: "y", Value: "a: 1\nb: [x, y]\n", Exists: true},
		"kv.get(empty)":        &dep.KeyPair{Key: "empty", Value: "", Exists: true},
		"catalog.services()":   []*dep.CatalogSnippet{{Name: "db", Tags: dep.ServiceTags{"primary"}}, {Name: "web", Tags: dep.ServiceTags{"prod", "v1"}}},
		"kv.list(groups)":      []*dep.KeyPair{{Key: "elasticsearch/es1", Value: "1"}, {Key: "elasticsearch/es2", Value: "1"}, {Key: "top", Value: "x"}},
		"kv.list(service/web)": []*dep.KeyPair{},
	}
	cases := []struct {
		name, src, want string
	}{
		{"split then join in a pipeline", `{{ "Foo-Bar-baz" | toLower | split "-" | join "." }}`, "foo.bar.baz"},
		{"split trims and gives nothing for empty", `{{ len (split "," "  ") }}`, "0"},
		{"in finds a tag", `{{ if in (index (service "web") 0).Tags "prod" }}yes{{ end }}`, "yes"},
		{"in is false for a missing tag", `{{ if in (index (service "web") 1).Tags "prod" }}yes{{ else }}no{{ end }}`, "no"},
		{"in on a string is substring", `{{ in "foobar" "oba" }}`, "true"},
		{"contains takes the needle first", `{{ (index (service "web") 0).Tags | contains "v1" }}`, "true"},
		{"containsAll", `{{ containsAll (split "," "prod,v1") (index (service "web") 0).Tags }}`, "true"},
		{"containsAll of nothing is true", `{{ containsAll (split "," "") (index (service "web") 1).Tags }}`, "true"},
		{"containsAny", `{{ containsAny (split "," "x,v1") (index (service "web") 1).Tags }}`, "true"},
		{"containsNone", `{{ containsNone (split "," "prod") (index (service "web") 1).Tags }}`, "true"},
		{"containsNotAll", `{{ containsNotAll (split "," "prod,v1") (index (service "web") 1).Tags }}`, "true"},
		{"ServiceTags.Contains", `{{ (index (service "web") 0).Tags.Contains "prod" }}`, "true"},
		{"replaceAll", `{{ "foo.bar" | replaceAll "." "_" }}`, "foo_bar"},
		{"regexReplaceAll expands groups", `{{ "foo.bar" | regexReplaceAll "foo([.a-z]+)" "$1" }}`, ".bar"},
		{"regexMatch", `{{ "foo.bar" | regexMatch "^foo[.]" }}`, "true"},
		{"toTitle", `{{ "hello wORLD" | toTitle }}`, "Hello WORLD"},
		{"toUpper", `{{ "abc" | toUpper }}`, "ABC"},
		{"trimSpace", `{{ "  x \n" | trimSpace }}`, "x"},
		{"trim, trimPrefix, trimSuffix", `{{ "--x--" | trim "-" }} {{ "v1.2" | trimPrefix "v" }} {{ "a.conf" | trimSuffix ".conf" }}`, "x 1.2 a"},
		{"indent skips empty lines", `{{ "a\n\nb" | indent 2 }}`, "  a\n\n  b"},
		{"loop one bound", `{{ range loop 3 }}{{ . }}{{ end }}`, "012"},
		{"loop two bounds", `{{ range $i := loop 5 8 }}stanza-{{ $i }} {{ end }}`, "stanza-5 stanza-6 stanza-7 "},
		{"loop over a parsed key", `{{ range loop ("2" | parseInt) }}x{{ end }}`, "xx"},
		{"parseBool of a key", `{{ if key "feature/on" | parseBool }}on{{ end }}`, "on"},
		{"parseBool of empty", `{{ parseBool "" }}`, "false"},
		{"parseFloat", `{{ "1.5" | parseFloat }}`, "1.5"},
		{"parseInt", `{{ "-7" | parseInt }}`, "-7"},
		{"parseUint", `{{ "7" | parseUint }}`, "7"},
		{"parseJSON", `{{ with $d := key "user/info" | parseJSON }}{{ $d.name }} {{ index $d.tags 1 }}{{ end }}`, "ann b"},
		{"parseJSON of empty is an empty map", `{{ len (parseJSON "") }}`, "0"},
		{"parseYAML", `{{ with $d := key "y" | parseYAML }}{{ $d.a }} {{ index $d.b 0 }}{{ end }}`, "1 x"},
		{"toJSON of an exploded tree", `{{ tree "config" | explode | toJSON }}`, `{"admin":{"host":"h","port":"1234"},"maxconns":"15","nested":{"a":{"b":"deep"}}}`},
		{"toJSON escapes HTML", `{{ "<a&b>" | toJSON }}`, `"\u003ca\u0026b\u003e"`},
		{"toUnescapedJSON keeps HTML", `{{ "<a&b>" | toUnescapedJSON }}`, `"<a&b>"`},
		{"toJSONPretty", `{{ tree "config" | explode | toJSONPretty }}`, "{\n  \"admin\": {\n    \"host\": \"h\",\n    \"port\": \"1234\"\n  },\n  \"maxconns\": \"15\",\n  \"nested\": {\n    \"a\": {\n      \"b\": \"deep\"\n    }\n  }\n}"},
		{"toYAML indents by two", `{{ tree "config" | explode | toYAML }}`, "admin:\n  host: h\n  port: \"1234\"\nmaxconns: \"15\"\nnested:\n  a:\n    b: deep"},
		{"toTOML", `{{ tree "config" | explode | toTOML }}`, "maxconns = \"15\"\n\n[admin]\n  host = \"h\"\n  port = \"1234\"\n\n[nested]\n  [nested.a]\n    b = \"deep\""},
		{"ls shows only top-level keys", `{{ range ls "config" }}{{ .Key }}={{ .Value }};{{ end }}`, "maxconns=15;"},
		{"tree shows all keys", `{{ range tree "config" }}{{ .Key }};{{ end }}`, "maxconns;admin/port;admin/host;nested/a/b;"},
		{"byKey groups by first segment", `{{ range $k, $p := tree "groups" | byKey }}{{ $k }}:{{ range $p }}{{ .Key }}={{ .Value }},{{ end }}{{ end }}`, "elasticsearch:es1=1,es2=1,"},
		{"byTag groups services", `{{ range $tag, $s := service "web" | byTag }}{{ $tag }}={{ len $s }};{{ end }}`, "prod=1;v1=2;"},
		{"byTag on services", `{{ range $tag, $s := services | byTag }}{{ $tag }}:{{ range $s }}{{ .Name }}{{ end }};{{ end }}`, "primary:db;prod:web;v1:web;"},
		{"byMeta with int padding and normalising", `{{ range $k, $s := service "web" | byMeta "env,shard|int" }}{{ $k }}={{ len $s }};{{ end }}`, "dev_x_00000=1;prod_00002=1;"},
		{"keyOrDefault uses the value", `{{ keyOrDefault "feature/on" "off" }}`, "true"},
		{"keyOrDefault with an empty value gives the default", `{{ keyOrDefault "empty" "dflt" }}`, "dflt"},
		{"keyExists", `{{ keyExists "feature/on" }}`, "true"},
		{"sha256Hex", `{{ "bladibla" | sha256Hex }}`, "54cf4c66bcabb5c20e25331c01dd600b73369e97a947861bd8d3a0e0b8b3d70b"},
		{"md5sum", `{{ "x" | md5sum }}`, "9dd4e461268c8034f5c8564e155c67a6"},
		{"base64 round trip", `{{ "hello" | base64Encode }} {{ base64Decode "aGVsbG8=" }} {{ "hi?" | base64URLEncode }}`, "aGVsbG8= hello aGk_"},
		{"executeTemplate with and without dot", `{{ define "c" }}[{{ . }}]{{ end }}{{ executeTemplate "c" }}{{ executeTemplate "c" 42 }}`, "[<no value>][42]"},
		{"scratch", `{{ scratch.Set "a" 1 }}{{ scratch.SetX "a" 2 }}{{ scratch.Get "a" }} {{ scratch.Key "a" }} {{ scratch.MapSet "m" "b" 2 }}{{ scratch.MapSet "m" "a" 1 }}{{ scratch.MapValues "m" }}`, "1 true [1 2]"},
		{"explodeMap", `{{ scratch.MapSet "e" "foo/bar" "a" }}{{ scratch.MapSet "e" "foo/baz" "b" }}{{ scratch.Get "e" | explodeMap | toJSON }}`, `{"foo":{"bar":"a","baz":"b"}}`},
		{"splitToMap", `{{ $m := splitToMap "," "=" "a=1,b=2,junk" }}{{ $m.a }}{{ $m.b }} {{ len $m }}`, "12 2"},
		{"sprig function without collision", `{{ "abc" | upper }} {{ list 1 2 | len }}`, "ABC 2"},
		{"sprig version of a collision keeps sprig's order", `{{ sprig_join "." (list "a" "b") }} {{ sprig_contains "ell" "hello" }}`, "a.b true"},
		{"sprig split stays reachable", `{{ (sprig_split "$" "foo$bar")._1 }}`, "bar"},
		{"env", `{{ env "BEACON_TEMPLATE_TEST_ENV" }}`, "from-env"},
		{"envOrDefault", `{{ envOrDefault "BEACON_TEMPLATE_TEST_UNSET" "d" }}`, "d"},
	}
	t.Setenv("BEACON_TEMPLATE_TEST_ENV", "from-env")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := render(t, tc.src, data, Options{})
			if len(res.Missing) > 0 {
				t.Fatalf("unexpected missing data: %v", res.Missing)
			}
			if got := string(res.Output); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestMathFunctions(t *testing.T) {
	cases := []struct{ src, want string }{
		{`{{ add 1 2 }}`, "3"},
		{`{{ 1 | add 2 }}`, "3"},
		{`{{ subtract 2 5 }}`, "3"},
		{`{{ 5 | subtract 2 }}`, "3"},
		{`{{ multiply 2 2 }}`, "4"},
		{`{{ divide 2 10 }}`, "5"},
		{`{{ 10 | divide 2 }}`, "5"},
		{`{{ modulo 2 5 }}`, "1"},
		{`{{ minimum 2 5 }}`, "2"},
		{`{{ 5 | maximum 2 }}`, "5"},
		{`{{ add 1.5 2 }}`, "3.5"},
		{`{{ divide 4 10.0 }}`, "2.5"},
		{`{{ "3" | parseInt | add 1 }}`, "4"},
		{`{{ "3" | parseUint | multiply 2 }}`, "6"},
	}
	for _, tc := range cases {
		res := render(t, tc.src, MapRecaller{}, Options{})
		if got := string(res.Output); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.src, got, tc.want)
		}
	}
	for _, src := range []string{`{{ divide 0 1 }}`, `{{ modulo 0 1 }}`, `{{ modulo 2 1.5 }}`, `{{ add "x" 1 }}`} {
		tm, err := New("m.ctmpl", src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tm.Execute(MapRecaller{}); err == nil {
			t.Errorf("%s: want an error", src)
		}
	}
}

func TestTimestamp(t *testing.T) {
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return time.Date(1970, 1, 2, 3, 4, 5, 0, time.UTC) }
	res := render(t, `{{ timestamp }} {{ timestamp "2006-01-02" }} {{ timestamp "unix" }}`, MapRecaller{}, Options{})
	if got, want := string(res.Output), "1970-01-02T03:04:05Z 1970-01-02 97445"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFunctionNamesAndSprigPrefix(t *testing.T) {
	names := map[string]bool{}
	for _, n := range FuncNames() {
		names[n] = true
	}
	for _, want := range strings.Fields(`service services key keyExists keyOrDefault ls safeLs tree safeTree node nodes
		datacenters env file byKey byTag byMeta contains containsAll containsAny containsNone containsNotAll explode
		explodeMap in indent join split loop parseBool parseFloat parseInt parseUint parseJSON parseYAML regexMatch
		regexReplaceAll replaceAll sha256Hex timestamp toJSON toJSONPretty toLower toUpper toTitle toTOML toYAML
		trimSpace executeTemplate add subtract multiply divide modulo minimum maximum scratch
		sprig_split sprig_join sprig_contains sprig_add sprig_upper upper camelcase`) {
		if !names[want] {
			t.Errorf("function %q is not defined", want)
		}
	}
}
