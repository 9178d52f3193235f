package ui_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

func page(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestUIPages(t *testing.T) {
	a := testagent.Start(t) // -dev turns the UI on
	a.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Tags: []string{"prod"}, Port: 80,
		Check: &api.AgentServiceCheck{TTL: "1m", Status: "critical"}})
	a.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "<script>alert(1)</script>"})
	a.Client.KV().Put(&api.KVPair{Key: "app/config/db", Value: []byte("host=db <b>")}, nil)
	a.Agent.SyncNow()
	node := a.Agent.Node().Node
	cases := []struct {
		path string
		want []string
	}{
		{"/", []string{"Services", "consul", "web"}},
		{"/ui/dc1/services", []string{"web", "prod", "1 critical", "&lt;script&gt;"}},
		{"/ui/dc1/services/web", []string{"web-1", node, "critical"}},
		{"/ui/dc1/nodes", []string{node}},
		{"/ui/dc1/nodes/" + node, []string{"web-1", "Serf Health Status"}},
		{"/ui/dc1/kv/", []string{"app/"}},
		{"/ui/dc1/kv/app/config/", []string{"app/config/db"}},
		{"/ui/dc1/kv/app/config/db", []string{"host=db &lt;b&gt;", "ModifyIndex"}},
	}
	for _, c := range cases {
		code, body := page(t, a.URL(c.path))
		if code != 200 {
			t.Errorf("%s: status %d", c.path, code)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q", c.path, w)
			}
		}
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s: service name not escaped", c.path)
		}
	}
	if code, _ := page(t, a.URL("/ui/dc9/services")); code != 404 {
		t.Errorf("unknown datacenter: %d", code)
	}
}

func TestUIDisabled(t *testing.T) {
	a := testagent.Start(t, testagent.WithJSON(`{"ui": false}`))
	code, body := page(t, a.URL("/ui/"))
	if code != 404 || !strings.Contains(body, "-ui") {
		t.Fatalf("disabled UI: %d %q", code, body)
	}
}
