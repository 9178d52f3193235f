package decode

import (
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

func TestServiceDefinitionSpellings(t *testing.T) {
	cases := []struct {
		name string
		body string
		chk  func(*structs.ServiceDefinition) bool
	}{
		{"CamelCase as the API client sends", `{"ID":"n1","Name":"node_exporter","Port":9100,"Tags":["prod"],"EnableTagOverride":true}`,
			func(s *structs.ServiceDefinition) bool { return s.ID == "n1" && s.Port == 9100 && s.EnableTagOverride }},
		{"snake_case as config files use", `{"name":"web","enable_tag_override":true,"check":{"http":"http://x","interval":"10s","deregister_critical_service_after":"1m"}}`,
			func(s *structs.ServiceDefinition) bool {
				return s.EnableTagOverride && s.Check.DeregisterCriticalServiceAfter.D().Minutes() == 1
			}},
		{"args alias of ScriptArgs", `{"name":"w","check":{"args":["curl","localhost"],"interval":"5s"}}`,
			func(s *structs.ServiceDefinition) bool { return len(s.Check.ScriptArgs) == 2 }},
		{"meta keys kept verbatim", `{"name":"w","meta":{"Some_Key":"v"}}`,
			func(s *structs.ServiceDefinition) bool { return s.Meta["Some_Key"] == "v" }},
		{"header keys kept verbatim", `{"name":"w","check":{"http":"h","interval":"1s","header":{"X-Api_Key":["k"]}}}`,
			func(s *structs.ServiceDefinition) bool { return s.Check.Header["X-Api_Key"][0] == "k" }},
		{"check id spelled ID or CheckID", `{"name":"w","checks":[{"id":"a","ttl":"10s"},{"CheckID":"b","ttl":"10s"}]}`,
			func(s *structs.ServiceDefinition) bool {
				return s.Checks[0].CheckID == "a" && s.Checks[1].CheckID == "b"
			}},
	}
	for _, c := range cases {
		var s structs.ServiceDefinition
		if err := JSON([]byte(c.body), &s, true); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !c.chk(&s) {
			t.Errorf("%s: decoded %+v", c.name, s)
		}
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		body   string
		strict bool
		want   string
	}{
		{`{"name":"w","prot":1}`, true, `"prot"`},
		{`{"name":"w","check":{"intervall":"1s"}}`, true, `"check.intervall"`},
		{`{"name":"w","port":"eighty"}`, false, `"Port"`},
		{`{"name":"w","tags":{"a":1}}`, false, `"Tags"`},
		{`{"name":"w","Name":"x"}`, false, "twice"},
		{`[1,2]`, false, "object"},
	}
	for _, c := range cases {
		var s structs.ServiceDefinition
		err := JSON([]byte(c.body), &s, c.strict)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %s", c.body, err, c.want)
		}
	}
	var s structs.ServiceDefinition
	if err := JSON([]byte(`{"name":"w","Connect":{"sidecar_service":{}},"unknown":1}`), &s, false); err != nil {
		t.Errorf("lenient mode must ignore unknown keys: %v", err)
	}
}
