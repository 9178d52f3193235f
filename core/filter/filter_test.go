package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-bexpr"

	"github.com/beacon-sd/beacon/core/structs"
)

// Each endpoint's selectors and the operations they take, as the
// "Filtering" tables of Consul's API documentation list them; <any> is a
// map key.
const (
	strOps   = "Equal, Not Equal, In, Not In, Matches, Not Matches"
	numOps   = "Equal, Not Equal"
	mapOps   = "Is Empty, Is Not Empty, In, Not In"
	listOps  = "In, Not In, Is Empty, Is Not Empty"
	emptyOps = "Is Empty, Is Not Empty"
)

var nodeSelectors = [][2]string{
	{"Address", strOps}, {"Datacenter", strOps}, {"ID", strOps}, {"Meta", mapOps},
	{"Meta.<any>", strOps}, {"Node", strOps}, {"TaggedAddresses", mapOps},
	{"TaggedAddresses.<any>", strOps},
}

// proxySelectors are the mesh fields under a service's Proxy.
var proxySelectors = [][2]string{
	{"DestinationServiceID", strOps}, {"DestinationServiceName", strOps},
	{"LocalServiceAddress", strOps}, {"LocalServicePort", numOps}, {"Mode", strOps},
	{"TransparentProxy.OutboundListenerPort", numOps}, {"MeshGateway.Mode", strOps},
	{"Upstreams", emptyOps}, {"Upstreams.Datacenter", strOps},
	{"Upstreams.DestinationName", strOps}, {"Upstreams.DestinationNamespace", strOps},
	{"Upstreams.DestinationType", strOps}, {"Upstreams.LocalBindAddress", strOps},
	{"Upstreams.LocalBindPort", numOps}, {"Upstreams.MeshGateway.Mode", strOps},
}

var serviceSelectors = append([][2]string{
	{"Address", strOps}, {"Connect.Native", numOps}, {"EnableTagOverride", numOps},
	{"ID", strOps}, {"Kind", strOps}, {"Meta", mapOps}, {"Meta.<any>", strOps},
	{"Port", numOps}, {"Service", strOps}, {"TaggedAddresses", mapOps},
	{"TaggedAddresses.<any>.Address", strOps}, {"TaggedAddresses.<any>.Port", numOps},
	{"Tags", listOps}, {"Weights.Passing", numOps}, {"Weights.Warning", numOps},
}, prefixed("Proxy.", proxySelectors)...)

var serviceNodeSelectors = append([][2]string{
	{"Address", strOps}, {"Datacenter", strOps}, {"ID", strOps}, {"Node", strOps},
	{"NodeMeta.<any>", strOps}, {"NodeMeta", mapOps}, {"ServiceAddress", strOps},
	{"ServiceConnect.Native", numOps}, {"ServiceEnableTagOverride", numOps},
	{"ServiceID", strOps}, {"ServiceKind", strOps}, {"ServiceMeta.<any>", strOps},
	{"ServiceMeta", mapOps}, {"ServiceName", strOps}, {"ServicePort", numOps},
	{"ServiceTaggedAddresses.<any>.Address", strOps}, {"ServiceTaggedAddresses.<any>.Port", numOps},
	{"ServiceTaggedAddresses", mapOps}, {"ServiceTags", listOps},
	{"ServiceWeights.Passing", numOps}, {"ServiceWeights.Warning", numOps},
	{"TaggedAddresses.<any>", strOps}, {"TaggedAddresses", mapOps},
}, prefixed("ServiceProxy.", proxySelectors)...)

var checkSelectors = [][2]string{
	{"CheckID", strOps}, {"Name", strOps}, {"Node", strOps}, {"Notes", strOps},
	{"Output", strOps}, {"ServiceID", strOps}, {"ServiceName", strOps},
	{"ServiceTags", listOps}, {"Status", strOps},
}

var healthSelectors = concat(
	[][2]string{{"Checks", emptyOps}},
	prefixed("Checks.", checkSelectors),
	prefixed("Node.", nodeSelectors),
	prefixed("Service.", serviceSelectors),
)

// memberSelectors are the fields of a gossip member as the API shows it.
var memberSelectors = [][2]string{
	{"Name", strOps}, {"Addr", strOps}, {"Port", numOps}, {"Tags", mapOps},
	{"Tags.<any>", strOps}, {"Status", numOps}, {"ProtocolMin", numOps},
	{"ProtocolMax", numOps}, {"ProtocolCur", numOps}, {"DelegateMin", numOps},
	{"DelegateMax", numOps}, {"DelegateCur", numOps},
}

func prefixed(p string, sel [][2]string) [][2]string {
	out := make([][2]string, len(sel))
	for i, s := range sel {
		out[i] = [2]string{p + s[0], s[1]}
	}
	return out
}

func concat(lists ...[][2]string) [][2]string {
	var out [][2]string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// expression writes a use of one operation on a selector, with a value of
// the selector's type.
func expression(sel, op string) string {
	sel = strings.ReplaceAll(sel, "<any>", "k")
	val := `"x"`
	switch {
	case strings.HasSuffix(sel, "Native"), strings.HasSuffix(sel, "EnableTagOverride"):
		val = "true"
	case strings.HasSuffix(sel, "Port"), strings.HasSuffix(sel, "Passing"), strings.HasSuffix(sel, "Warning"),
		strings.HasSuffix(sel, "Status") && !strings.Contains(sel, "."), strings.HasPrefix(sel, "Protocol"),
		strings.HasPrefix(sel, "Delegate"):
		val = "1"
	}
	switch op {
	case "Equal":
		return sel + " == " + val
	case "Not Equal":
		return sel + " != " + val
	case "In":
		return val + " in " + sel
	case "Not In":
		return val + " not in " + sel
	case "Matches":
		return sel + ` matches "x.*"`
	case "Not Matches":
		return sel + ` not matches "x.*"`
	case "Is Empty":
		return sel + " is empty"
	case "Is Not Empty":
		return sel + " is not empty"
	}
	panic("unknown operation " + op)
}

// TestSelectorsPerEndpoint compiles every selector and operation that
// Consul documents for each endpoint against the view beacon filters that
// endpoint with: none may be refused.
func TestSelectorsPerEndpoint(t *testing.T) {
	// The health lists share /v1/health/node's table; /v1/agent/checks has
	// it too. Consul's status field of a member is a number.
	// Beyond the tables, a check's Type is selectable (Consul's check
	// struct has it), and so is the Datacenter an agent's services show.
	withType := append(append([][2]string{}, checkSelectors...), [2]string{"Type", strOps})
	endpoints := []struct {
		name      string
		selectors [][2]string
		view      any
		compile   func(string) error
	}{
		{"/v1/catalog/nodes", nodeSelectors, nodeView{}, func(e string) error { _, err := Nodes(e); return err }},
		{"/v1/catalog/services, /v1/catalog/service/<s>", serviceNodeSelectors, serviceNodeView{}, func(e string) error { _, err := ServiceNodes(e); return err }},
		{"/v1/catalog/node(-services)/<n>", serviceSelectors, nil, func(e string) error { _, err := Services(e); return err }},
		{"/v1/agent/services", append(serviceSelectors, [2]string{"Datacenter", strOps}), serviceView{}, func(e string) error { _, err := AgentServices(e, "dc1"); return err }},
		{"/v1/health/node|checks|state, /v1/agent/checks", withType, checkView{}, func(e string) error { _, err := Checks(e); return err }},
		{"/v1/health/service/<s>", concat(healthSelectors, [][2]string{{"Checks.Type", strOps}, {"Service.Datacenter", strOps}}), healthView{}, func(e string) error { _, err := Health(e); return err }},
		{"/v1/agent/members", memberSelectors, memberView{}, func(e string) error { _, err := Members(e); return err }},
	}
	for _, ep := range endpoints {
		if ep.view != nil {
			checkNoOthers(t, ep.name, ep.view, ep.selectors)
		}
		n := 0
		for _, s := range ep.selectors {
			for _, op := range strings.Split(s[1], ", ") {
				expr := expression(s[0], op)
				if err := ep.compile(expr); err != nil {
					t.Errorf("%s: %q refused: %v", ep.name, expr, err)
				}
				n++
			}
		}
		t.Logf("%s: %d selectors, %d selector-operation pairs accepted", ep.name, len(ep.selectors), n)
	}
}

// checkNoOthers fails when a view offers a selector that its endpoint's
// list lacks: what Consul refuses, beacon refuses too.
func checkNoOthers(t *testing.T, name string, view any, selectors [][2]string) {
	t.Helper()
	known := map[string]bool{}
	for _, s := range selectors {
		known[s[0]] = true
		// A path's parents are structs, which take no operation.
		for p := s[0]; strings.Contains(p, "."); {
			p = p[:strings.LastIndex(p, ".")]
			known[p] = true
		}
	}
	fields, err := bexpr.GenerateFieldConfigurations(view)
	if err != nil {
		t.Fatal(err)
	}
	fields.Walk(func(path bexpr.FieldPath, _ *bexpr.FieldConfiguration) bool {
		if !known[path.String()] {
			t.Errorf("%s: selector %s is not Consul's", name, path)
		}
		return true
	})
}

// TestRefusals: an expression that does not parse, a selector the items
// lack, an operation the selector does not take and a value of the wrong
// type are each refused with bexpr's words, naming the problem.
func TestRefusals(t *testing.T) {
	cases := []struct {
		expr, want string
	}{
		{`Meta.env ==`, "1:"},
		{`ServiceMeta.env == "prod"`, `Selector "ServiceMeta" is not valid`},
		{`Node.Meta.os == linux`, `Selector "Node.Meta" is not valid`},
		{`Tags == "x"`, `Selector "Tags" is not valid`},
		{`Meta is empty and ((Node == a)`, "1:"},
		{`Node < 3`, "1:"},
		{`Meta == "x"`, `Invalid match operator "Equal" for selector "Meta"`},
		{`Address matches "("`, "Failed to compile regular expression"},
	}
	for _, c := range cases {
		_, err := Nodes(c.expr)
		if err == nil {
			t.Errorf("%q accepted", c.expr)
			continue
		}
		if !strings.HasPrefix(err.Error(), "Failed to create boolean expression evaluator: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want it to contain %q", c.expr, err, c.want)
		}
		var in *structs.InputError
		if !asInput(err, &in) {
			t.Errorf("%q: %T is not the caller's mistake", c.expr, err)
		}
	}
	if _, err := Health(`Service.Port == "eighty"`); err == nil || !strings.Contains(err.Error(), `Failed to coerce value "eighty"`) {
		t.Errorf("a string for a number: %v", err)
	}
	if _, err := Services(`Weights.Passing == true`); err == nil {
		t.Error("a bool for a number accepted")
	}
}

// TestParseWorkIsBounded: nested parentheses make bexpr's parser
// backtrack exponentially; past a bound the expression is refused instead
// of holding a CPU for minutes, while the nesting people write still
// parses.
func TestParseWorkIsBounded(t *testing.T) {
	for _, expr := range []string{
		"(((((A00",
		strings.Repeat("(", 12) + `Node == "a"` + strings.Repeat(")", 12),
		strings.Repeat("(", 30) + "x",
		strings.Repeat(`Node == "a" or `, 20000) + `Node == "b"`,
	} {
		start := time.Now()
		_, err := Nodes(expr)
		took := time.Since(start)
		if err == nil {
			t.Errorf("%.40q accepted", expr)
		} else if !strings.HasPrefix(err.Error(), "Failed to create boolean expression evaluator: ") {
			t.Errorf("%.40q: %v", expr, err)
		}
		if took > 20*time.Second { // well under a second on an idle machine
			t.Errorf("%.40q: refused after %v", expr, took)
		}
		t.Logf("%.40q (%d bytes): %v in %v", expr, len(expr), err, took.Round(time.Millisecond))
	}
	for _, expr := range []string{
		`(Meta.env == prod and (Node matches "^web" or (Meta.os == linux and not (Address == "10.0.0.1" or (Node == a)))))`,
		strings.Repeat(`Node == "a" or `, 500) + `Node == "b"`,
	} {
		if _, err := Nodes(expr); err != nil {
			t.Errorf("%.60q: %v", expr, err)
		}
	}
}

func asInput(err error, in **structs.InputError) bool {
	e, ok := err.(*structs.InputError)
	*in = e
	return ok
}

func TestEmptyKeepsEverything(t *testing.T) {
	f, err := Nodes("")
	if err != nil || f != nil {
		t.Fatalf("empty expression: %v, %v", f, err)
	}
	nodes := []*structs.Node{{Node: "a"}, {Node: "b"}}
	got, err := f.Slice(nodes)
	if err != nil || len(got) != 2 {
		t.Fatalf("nil filter: %v, %v", got, err)
	}
}

// TestMatching runs expressions of the forms users write against each
// kind of item.
func TestMatching(t *testing.T) {
	nodes := []*structs.Node{
		{Node: "foo", Address: "127.0.0.2", Meta: map[string]string{"env": "production", "os": "linux"}, TaggedAddresses: map[string]string{"wan": "198.18.0.2"}},
		{Node: "bar", Address: "127.0.0.3", Meta: map[string]string{"env": "production", "os": "windows"}},
		{Node: "baz", Address: "127.0.0.4", Meta: map[string]string{"env": "qa"}},
		{Node: "nometa", Address: "10.0.0.9"},
	}
	names := func(ns []*structs.Node) string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Node)
		}
		return strings.Join(out, ",")
	}
	for expr, want := range map[string]string{
		`Meta.env == production`:                   "foo,bar",
		`Meta["env"] == "production"`:              "foo,bar",
		`Node == bar or Node == baz`:               "bar,baz",
		"Address == `10.0.0.1`":                    "",
		`Meta.os != linux`:                         "bar,baz,nometa",
		`Meta is empty`:                            "nometa",
		`"os" in Meta and not (Meta.os == linux)`:  "bar",
		`Node matches "^ba"`:                       "bar,baz",
		`Address not matches "^127\\."`:            "nometa",
		`TaggedAddresses.wan == "198.18.0.2"`:      "foo",
		`"0.0" in Address`:                         "foo,bar,baz,nometa",
		`Node contains "me" and Meta is not empty`: "",
	} {
		f, err := Nodes(expr)
		if err != nil {
			t.Errorf("%q: %v", expr, err)
			continue
		}
		got, err := f.Slice(nodes)
		if err != nil {
			t.Errorf("%q: %v", expr, err)
			continue
		}
		if names(got) != want {
			t.Errorf("%q kept %q, want %q", expr, names(got), want)
		}
	}

	entries := []structs.CheckServiceNode{
		{Node: nodes[0], Service: &structs.NodeService{ID: "r1", Service: "redis", Tags: []string{"v1"}, Meta: map[string]string{"version": "1"}},
			Checks: []*structs.HealthCheck{{CheckID: "serfHealth", Status: "passing"}, {CheckID: "r1", Status: "critical"}}},
		{Node: nodes[1], Service: &structs.NodeService{ID: "r2", Service: "redis", Tags: []string{"v2"}, Meta: map[string]string{"version": "2"}},
			Checks: []*structs.HealthCheck{{CheckID: "serfHealth", Status: "passing"}}},
		{Node: nil, Service: nil},
	}
	for expr, want := range map[string]int{
		`Service.Meta.version == 2`:                               1,
		`Node.Meta.os == linux and Service.Meta.version == 1`:     1,
		`Checks.Status == critical`:                               1,
		`Checks.Status != critical`:                               2, // any check that is not critical
		`v2 in Service.Tags`:                                      1,
		`Checks is empty`:                                         1,
		`Service.Proxy.Upstreams is empty and Node.Node != "zzz"`: 3,
	} {
		f, err := Health(expr)
		if err != nil {
			t.Errorf("%q: %v", expr, err)
			continue
		}
		got, err := f.Slice(entries)
		if err != nil || len(got) != want {
			t.Errorf("%q kept %d (%v), want %d", expr, len(got), err, want)
		}
	}

	members := []api.AgentMember{{Name: "a", Tags: map[string]string{"dc": "dc1"}, Status: 1}, {Name: "b", Tags: map[string]string{"dc": "dc2"}, Status: 4}}
	f, err := Members(`Tags["dc"] == dc2 and Status == 4`)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Slice(members); len(got) != 1 || got[0].Name != "b" {
		t.Errorf("members: %v", got)
	}

	svcs := map[string]*structs.NodeService{"a": {ID: "a", Meta: map[string]string{"env": "prod"}, Tags: []string{"v2"}}, "b": {ID: "b", Tags: []string{"v2"}}}
	sf, err := AgentServices(`ServiceMeta.env == "prod"`, "dc1")
	if err == nil {
		t.Errorf("an agent service has no ServiceMeta, yet %v", sf)
	}
	sf, err = AgentServices(`Meta.env == "prod" and "v2" in Tags and Datacenter == dc1`, "dc1")
	if err != nil {
		t.Fatal(err)
	}
	for id, sv := range svcs {
		if ok, err := sf.Match(sv); err != nil || ok != (id == "a") {
			t.Errorf("agent service %s: matched %v, %v", id, ok, err)
		}
	}
}

// FuzzExpressions: any expression either is refused as the caller's
// mistake or evaluates over every kind of item without panicking.
func FuzzExpressions(f *testing.F) {
	for _, s := range []string{
		`Meta.env == production`, `Node.Meta["os"] != linux and v2 in Service.Tags`,
		`Checks.Status == critical or not (Service.Port == 80)`, `ServiceTaggedAddresses.lan.Port == 1`,
		`Service.Proxy.Upstreams.MeshGateway.Mode is empty`, `Tags["dc"] matches "^dc[0-9]+$"`,
		`(`, `a == "`, `ServiceMeta is not empty`,
	} {
		f.Add(s)
	}
	node := &structs.Node{Node: "n", Meta: map[string]string{"env": "production"}, TaggedAddresses: map[string]string{"lan": "1"}}
	svc := &structs.NodeService{ID: "s", Service: "s", Tags: []string{"v2"}, Port: 80,
		TaggedAddresses: map[string]structs.ServiceAddress{"lan": {Address: "1", Port: 1}}}
	check := &structs.HealthCheck{Node: "n", CheckID: "c", Status: "critical", ServiceTags: []string{"v2"}}
	f.Fuzz(func(t *testing.T, expr string) {
		try := func(err error, run func() error) {
			if err != nil {
				var in *structs.InputError
				if !asInput(err, &in) || !strings.HasPrefix(err.Error(), "Failed to create boolean expression evaluator: ") {
					t.Fatalf("%q: %T %v", expr, err, err)
				}
				return
			}
			if err := run(); err != nil {
				t.Fatalf("%q: evaluation failed: %v", expr, err)
			}
		}
		nf, err := Nodes(expr)
		try(err, func() error { _, err := nf.Slice([]*structs.Node{node, {}}); return err })
		if _, perr := bexpr.Parse("", []byte(expr), bexpr.MaxExpressions(maxParseSteps)); perr != nil {
			return // refused above; every kind refuses what does not parse
		}
		sf, err := ServiceNodes(expr)
		try(err, func() error {
			_, err := sf.Slice([]structs.ServiceNode{structs.NewServiceNode(node, svc), {}})
			return err
		})
		vf, err := Services(expr)
		try(err, func() error { _, err := vf.Slice([]*structs.NodeService{svc, {}, nil}); return err })
		cf, err := Checks(expr)
		try(err, func() error { _, err := cf.Slice([]*structs.HealthCheck{check, {}, nil}); return err })
		hf, err := Health(expr)
		try(err, func() error {
			_, err := hf.Slice([]structs.CheckServiceNode{{Node: node, Service: svc, Checks: []*structs.HealthCheck{check, nil}}, {}})
			return err
		})
		mf, err := Members(expr)
		try(err, func() error {
			_, err := mf.Slice([]api.AgentMember{{Name: "m", Tags: map[string]string{"dc": "dc1"}}, {}})
			return err
		})
	})
}
