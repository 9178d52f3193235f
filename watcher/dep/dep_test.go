package dep

import (
	"errors"
	"testing"
)

func TestParseQueries(t *testing.T) {
	type parse func() (Dependency, error)
	svc := func(args ...string) parse { return func() (Dependency, error) { return ParseService(args...) } }
	cases := []struct {
		name string
		p    parse
		want string // String(), or "" for an error
	}{
		{"service by name", svc("web"), "health.service(web)"},
		{"service with tag", svc("release.web"), "health.service(release.web)"},
		{"tag with dots", svc("v1.2.web"), "health.service(v1.2.web)"},
		{"every part", svc("prod.web@dc2~node1|warning,passing"), "health.service(prod.web@dc2~node1|passing,warning)"},
		{"filter as a second argument", svc("web", "any"), "health.service(web|any)"},
		{"filter in the string", svc("web|any"), "health.service(web|any)"},
		{"name with dashes and slash", svc("api-gw/v2"), "health.service(api-gw/v2)"},
		{"maintenance filter", svc("web|maintenance"), "health.service(web|maintenance)"},
		{"bad status", svc("web|sick"), ""},
		{"any with others", svc("web|any,passing"), ""},
		{"space in name", svc("a b"), ""},
		{"three arguments", svc("a", "b", "c"), ""},
		{"services", func() (Dependency, error) { return ParseServices() }, "catalog.services()"},
		{"services in a dc", func() (Dependency, error) { return ParseServices("@dc2") }, "catalog.services(@dc2)"},
		{"services junk", func() (Dependency, error) { return ParseServices("dc2") }, ""},
		{"key", func() (Dependency, error) { return ParseKey("/service/redis/maxconns@dc1") }, "kv.get(service/redis/maxconns@dc1)"},
		{"empty key", func() (Dependency, error) { return ParseKey("/") }, ""},
		{"prefix", func() (Dependency, error) { return ParsePrefix("config/") }, "kv.list(config/)"},
		{"root prefix", func() (Dependency, error) { return ParsePrefix("/") }, "kv.list()"},
		{"node of the agent", func() (Dependency, error) { return ParseNode() }, "catalog.node()"},
		{"node in a dc", func() (Dependency, error) { return ParseNode("node1@dc2") }, "catalog.node(node1@dc2)"},
		{"nodes near", func() (Dependency, error) { return ParseNodes("@dc2~_agent") }, "catalog.nodes(@dc2~_agent)"},
		{"nodes junk", func() (Dependency, error) { return ParseNodes("x y") }, ""},
		{"file", func() (Dependency, error) { return ParseFile("/etc/hosts") }, "file(/etc/hosts)"},
		{"empty file", func() (Dependency, error) { return ParseFile("") }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.p()
			if tc.want == "" {
				if err == nil || !errors.Is(err, ErrBadQuery) {
					t.Fatalf("got %v, %v; want a bad-query error", d, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.String() != tc.want {
				t.Errorf("String() = %q, want %q", d.String(), tc.want)
			}
		})
	}
}

func TestServiceStatusFilter(t *testing.T) {
	q, _ := ParseService("web|passing,warning")
	for status, want := range map[string]bool{"passing": true, "warning": true, "critical": false, "maintenance": false} {
		if q.accepts(status) != want {
			t.Errorf("passing,warning accepts %s = %v", status, !want)
		}
	}
	anyQ, _ := ParseService("web|any")
	if !anyQ.accepts("critical") {
		t.Error("any must accept critical")
	}
}

func TestServiceTagsContains(t *testing.T) {
	tags := sortedTags([]string{"b", "a"})
	if tags[0] != "a" || !tags.Contains("b") || tags.Contains("c") {
		t.Errorf("tags %v", tags)
	}
	if sortedTags(nil) == nil {
		t.Error("no tags must be an empty list, not nil")
	}
}
