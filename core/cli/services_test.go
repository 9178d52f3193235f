package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/structs"
)

func TestParseServiceFile(t *testing.T) {
	tenSec := structs.Duration(10 * time.Second)
	cases := []struct {
		name    string
		hcl     bool
		data    string
		want    []structs.ServiceDefinition
		wantErr string
	}{
		{
			name: "json snake case with check",
			data: `{"service":{"name":"web","tags":["rails"],"port":80,"enable_tag_override":true,
				"check":{"http":"http://localhost","interval":"10s"}}}`,
			want: []structs.ServiceDefinition{{Name: "web", Tags: []string{"rails"}, Port: 80, EnableTagOverride: true,
				Check: &structs.CheckDefinition{HTTP: "http://localhost", Interval: tenSec}}},
		},
		{
			name: "json CamelCase",
			data: `{"Service":{"ID":"web-1","Name":"web","Address":"10.0.0.5","Meta":{"Version":"2"},
				"Checks":[{"CheckID":"web-tcp","TCP":"10.0.0.5:80","Interval":"10s"}]}}`,
			want: []structs.ServiceDefinition{{ID: "web-1", Name: "web", Address: "10.0.0.5", Meta: map[string]string{"Version": "2"},
				Checks: []*structs.CheckDefinition{{CheckID: "web-tcp", TCP: "10.0.0.5:80", Interval: tenSec}}}},
		},
		{
			name: "json services list",
			data: `{"services":[{"name":"a","port":1},{"name":"b","port":2,"check":{"ttl":"30s"}}]}`,
			want: []structs.ServiceDefinition{{Name: "a", Port: 1},
				{Name: "b", Port: 2, Check: &structs.CheckDefinition{TTL: structs.Duration(30 * time.Second)}}},
		},
		{
			name: "json check args alias",
			data: `{"service":{"name":"db","check":{"id":"db-script","args":["/bin/check","db"],"interval":"10s"}}}`,
			want: []structs.ServiceDefinition{{Name: "db",
				Check: &structs.CheckDefinition{CheckID: "db-script", ScriptArgs: []string{"/bin/check", "db"}, Interval: tenSec}}},
		},
		{
			name: "hcl service block",
			hcl:  true,
			data: `service {
  name = "web"
  tags = ["rails"]
  port = 80
  meta {
    env = "prod"
  }
  check {
    http     = "http://localhost"
    interval = "10s"
  }
}`,
			want: []structs.ServiceDefinition{{Name: "web", Tags: []string{"rails"}, Port: 80, Meta: map[string]string{"env": "prod"},
				Check: &structs.CheckDefinition{HTTP: "http://localhost", Interval: tenSec}}},
		},
		{
			name: "hcl repeated services blocks",
			hcl:  true,
			data: "services {\n  name = \"a\"\n}\nservices {\n  name = \"b\"\n}\n",
			want: []structs.ServiceDefinition{{Name: "a"}, {Name: "b"}},
		},
		{
			name:    "unknown key is named",
			data:    `{"service":{"name":"web","chekc":{"ttl":"10s"}}}`,
			wantErr: `unknown key "service.chekc"`,
		},
		{
			name:    "unknown key inside a check is named",
			data:    `{"service":{"name":"web","check":{"ttl":"10s","intervall":"5s"}}}`,
			wantErr: `unknown key "service.check.intervall"`,
		},
		{
			name:    "unknown top-level key is named",
			hcl:     true,
			data:    `servce { name = "web" }`,
			wantErr: `unknown key "servce"`,
		},
		{name: "no service", data: `{}`, wantErr: `no "service" or "services" definition`},
		{name: "missing name", data: `{"service":{"port":80}}`, wantErr: "needs a name"},
		{name: "check without interval", data: `{"service":{"name":"w","check":{"http":"http://x"}}}`, wantErr: "needs an interval"},
		{name: "bad json", data: `{"service":`, wantErr: "parsing JSON"},
		{name: "bad hcl", hcl: true, data: `service {`, wantErr: "parsing HCL"},
		{name: "wrong type", data: `{"service":{"name":"w","port":"eighty"}}`, wantErr: "port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := parseServiceFile([]byte(tc.data), tc.hcl)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.wantErr)) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(defs) != len(tc.want) {
				t.Fatalf("got %d definitions, want %d", len(defs), len(tc.want))
			}
			for i := range defs {
				if !reflect.DeepEqual(*defs[i], tc.want[i]) {
					t.Errorf("definition %d:\n got %+v\nwant %+v", i, *defs[i], tc.want[i])
				}
			}
		})
	}
}

func TestLoadServiceFileNamesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "web.json")
	if err := os.WriteFile(path, []byte(`{"service":{"name":"web","bogus":1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadServiceFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"service.bogus"`) {
		t.Fatalf("err = %v, want it to name %s and the key", err, path)
	}
	code, _, errOut := runArgs("beacon", "services", "register", path)
	if code != 1 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "service.bogus") {
		t.Errorf("register: code %d stderr %q", code, errOut)
	}
	if _, err := loadServiceFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestToRegistration(t *testing.T) {
	def := &structs.ServiceDefinition{
		ID: "web-1", Name: "web", Tags: []string{"a"}, Port: 80, Address: "10.0.0.1",
		Meta:            map[string]string{"k": "v"},
		TaggedAddresses: map[string]structs.ServiceAddress{"lan": {Address: "10.0.0.1", Port: 80}},
		Weights:         &structs.Weights{Passing: 3, Warning: 1},
		Check: &structs.CheckDefinition{HTTP: "http://localhost/health", Interval: structs.Duration(10 * time.Second),
			Timeout: structs.Duration(time.Second), DeregisterCriticalServiceAfter: structs.Duration(time.Minute)},
		Checks: []*structs.CheckDefinition{
			{CheckID: "s", Script: "exit 0", Interval: structs.Duration(5 * time.Second)},
			{OSService: "sshd", DisableRedirects: true, Interval: structs.Duration(5 * time.Second)},
		},
	}
	reg, warnings := toRegistration(def)
	want := &api.AgentServiceRegistration{
		ID: "web-1", Name: "web", Tags: []string{"a"}, Port: 80, Address: "10.0.0.1",
		Meta:            map[string]string{"k": "v"},
		TaggedAddresses: map[string]api.ServiceAddress{"lan": {Address: "10.0.0.1", Port: 80}},
		Weights:         &api.AgentWeights{Passing: 3, Warning: 1},
		Check: &api.AgentServiceCheck{HTTP: "http://localhost/health", Interval: "10s", Timeout: "1s",
			DeregisterCriticalServiceAfter: "1m0s"},
		Checks: api.AgentServiceChecks{
			{CheckID: "s", Args: []string{"/bin/sh", "-c", "exit 0"}, Interval: "5s"},
			{Interval: "5s"},
		},
	}
	if !reflect.DeepEqual(reg, want) {
		t.Errorf("registration:\n got %+v\nwant %+v", reg, want)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "disable_redirects") || !strings.Contains(warnings[1], "os_service") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestServicesArgErrors(t *testing.T) {
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"register"}, "Missing -name flag or FILE argument"},
		{[]string{"register", "-name", "web", "web.json"}, "not both"},
		{[]string{"register", "-name", "web", "-port", "70000"}, "out of range"},
		{[]string{"register", "-name", "web", "-meta", "novalue"}, "is not key=value"},
		{[]string{"register", "-name", "web", "-tagged-address", "lan=1.2.3.4:http"}, "invalid port"},
		{[]string{"deregister"}, "Missing -id flag or FILE argument"},
		{[]string{"deregister", "-id", "web", "web.json"}, "not both"},
		{[]string{"deregister", "/nonexistent/web.json"}, "/nonexistent/web.json"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runArgs(append([]string{"beacon", "services"}, tc.args...)...)
			if code != 1 || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("code %d, stderr %q, want 1 and %q", code, errOut, tc.stderr)
			}
		})
	}
}

func TestParseTaggedAddresses(t *testing.T) {
	got, err := parseTaggedAddresses(map[string]string{"lan": "10.0.0.1:80", "wan": "example.com", "v6": "[::1]:8080"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]structs.ServiceAddress{
		"lan": {Address: "10.0.0.1", Port: 80},
		"wan": {Address: "example.com"},
		"v6":  {Address: "::1", Port: 8080},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
