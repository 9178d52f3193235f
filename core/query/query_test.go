package query

import (
	"reflect"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

func template(name, re string, svc structs.ServiceQuery) *structs.PreparedQuery {
	return &structs.PreparedQuery{Name: name, Service: svc,
		Template: structs.QueryTemplate{Type: structs.QueryTemplateNamePrefixMatch, Regexp: re}}
}

// The documented geo-db example, and every string of the Service
// interpolated.
func TestRender(t *testing.T) {
	tm, err := Compile(template("geo-db", `^geo-db-(.*?)-([^\-]+?)$`, structs.ServiceQuery{
		Service:        "mysql-${match(1)}",
		Near:           "${ name.prefix }",
		Tags:           []string{"${match(2)}", "${match(3)}", "$${match(1)}"},
		IgnoreCheckIDs: []string{"${name.suffix}"},
		NodeMeta:       map[string]string{"segment": "${agent.segment}", "full": "${name.full}"},
		ServiceMeta:    map[string]string{"whole": "${match(0)}"},
		Failover: structs.QueryFailoverOptions{Datacenters: []string{"dc-${match(1)}"},
			Targets: []structs.QueryFailoverTarget{{Datacenter: "${match(2)}"}}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	q, err := tm.Render("geo-db-customer-primary", "seg-a")
	if err != nil {
		t.Fatal(err)
	}
	want := structs.ServiceQuery{
		Service:        "mysql-customer",
		Near:           "geo-db",
		Tags:           []string{"primary", "", "${match(1)}"},
		IgnoreCheckIDs: []string{"-customer-primary"},
		NodeMeta:       map[string]string{"segment": "seg-a", "full": "geo-db-customer-primary"},
		ServiceMeta:    map[string]string{"whole": "geo-db-customer-primary"},
		Failover: structs.QueryFailoverOptions{Datacenters: []string{"dc-customer"},
			Targets: []structs.QueryFailoverTarget{{Datacenter: "primary"}}},
	}
	if !reflect.DeepEqual(q.Service, want) {
		t.Fatalf("rendered:\n got %+v\nwant %+v", q.Service, want)
	}
	// The template itself is untouched by rendering.
	again, _ := tm.Render("geo-db-x-y", "")
	if again.Service.Service != "mysql-x" || again.Service.NodeMeta["full"] != "geo-db-x-y" {
		t.Fatalf("second render: %+v", again.Service)
	}
}

func TestRemoveEmptyTags(t *testing.T) {
	q := template("t-", `^t-(\w+)$`, structs.ServiceQuery{Service: "s", Tags: []string{"${match(1)}", "x", "${match(2)}"}})
	q.Template.RemoveEmptyTags = true
	tm, err := Compile(q)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := tm.Render("t-a", "")
	if !reflect.DeepEqual(r.Service.Tags, []string{"a", "x"}) {
		t.Fatalf("tags %q", r.Service.Tags)
	}
}

// A template that cannot render is refused when written, saying where.
func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		q    *structs.PreparedQuery
		want string
	}{
		{&structs.PreparedQuery{Template: structs.QueryTemplate{Type: "prefix"}}, `Template.Type "prefix"`},
		{template("", "(", structs.ServiceQuery{Service: "s"}), "Template.Regexp"},
		{template("", "", structs.ServiceQuery{Service: "${name}"}), "${name}"},
		{template("", "", structs.ServiceQuery{Service: "s", Tags: []string{"a", "${name.full"}}), "Service.Tags[1]"},
		{template("", "", structs.ServiceQuery{Service: "${match(one)}"}), "group number"},
		{template("", "", structs.ServiceQuery{Service: "${name.full + 1}"}), "unknown interpolation"},
	} {
		if _, err := Compile(tc.q); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error mentioning %q", tc.q, err, tc.want)
		}
	}
}

func entry(node string, tags []string, checks ...string) structs.CheckServiceNode {
	e := structs.CheckServiceNode{Node: &structs.Node{Node: node}, Service: &structs.NodeService{Service: "web", Tags: tags}}
	for _, c := range checks {
		id, status, _ := strings.Cut(c, "=")
		e.Checks = append(e.Checks, &structs.HealthCheck{CheckID: id, Status: status})
	}
	return e
}

func names(es []structs.CheckServiceNode) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Node.Node)
	}
	return strings.Join(out, ",")
}

func TestSelect(t *testing.T) {
	all := []structs.CheckServiceNode{
		entry("a", []string{"Primary", "v1"}, "serfHealth=passing"),
		entry("b", []string{"primary", "canary"}, "serfHealth=passing", "svc=warning"),
		entry("c", []string{"v1"}, "serfHealth=passing", "flaky=critical"),
		entry("d", nil, "_node_maintenance=critical"),
	}
	for _, tc := range []struct {
		s    structs.ServiceQuery
		want string
	}{
		{structs.ServiceQuery{}, "a,b"},
		{structs.ServiceQuery{OnlyPassing: true}, "a"},
		{structs.ServiceQuery{IgnoreCheckIDs: []string{"flaky"}}, "a,b,c"},
		{structs.ServiceQuery{Tags: []string{"PRIMARY"}}, "a,b"},
		{structs.ServiceQuery{Tags: []string{"primary", "!Canary"}}, "a"},
		{structs.ServiceQuery{Tags: []string{"!v1"}, IgnoreCheckIDs: []string{"flaky", "_node_maintenance"}}, "b,d"},
	} {
		if got := names(Select(&tc.s, all)); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.s, got, tc.want)
		}
	}
}

// Failover goes to the NearestN known datacenters, then to those named,
// each once; one this server does not know is skipped, as in Consul.
func TestFailoverDatacenters(t *testing.T) {
	known := []string{"dc2", "dc3", "dc4"}
	for _, tc := range []struct {
		f     structs.QueryFailoverOptions
		known []string
		want  []string
	}{
		{structs.QueryFailoverOptions{NearestN: 2}, known, []string{"dc2", "dc3"}},
		{structs.QueryFailoverOptions{NearestN: 9}, known, known},
		{structs.QueryFailoverOptions{NearestN: 1, Datacenters: []string{"dc9", "dc4", "dc2", "dc4"}}, known, []string{"dc2", "dc4"}},
		{structs.QueryFailoverOptions{Targets: []structs.QueryFailoverTarget{{Datacenter: "dc3"}, {Datacenter: "nowhere"}}}, known, []string{"dc3"}},
		// One datacenter: every named one is unknown.
		{structs.QueryFailoverOptions{NearestN: 3, Datacenters: []string{"dc2", "dc1"}}, nil, nil},
	} {
		if got := FailoverDatacenters(&tc.f, tc.known); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v over %v: %v, want %v", tc.f, tc.known, got, tc.want)
		}
	}
}
