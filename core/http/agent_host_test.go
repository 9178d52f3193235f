package http_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// /v1/agent/host describes this machine in Consul's shape.
func TestAgentHostWithOfficialClient(t *testing.T) {
	a := testagent.Start(t)
	before := time.Now().UnixNano()
	host, err := a.Client.Agent().Host()
	if err != nil {
		t.Fatal(err)
	}
	ct, ok := host["CollectionTime"].(float64)
	if !ok || int64(ct) < before-int64(time.Second) {
		t.Fatalf("CollectionTime %v", host["CollectionTime"])
	}
	name, _ := os.Hostname()
	h, _ := host["Host"].(map[string]interface{})
	mem, _ := host["Memory"].(map[string]interface{})
	disk, _ := host["Disk"].(map[string]interface{})
	cpus, _ := host["CPU"].([]interface{})
	if h["hostname"] != name || h["os"] != "linux" || mem["total"].(float64) <= 0 || disk["path"] != "/" || len(cpus) == 0 ||
		host["Errors"] != nil {
		t.Fatalf("host: %v", host)
	}
}

// /v1/agent/version names the Consul version the API answers as, without
// Enterprise's mark (which consul-template's tests look for).
func TestAgentVersionWithOfficialClient(t *testing.T) {
	a := testagent.Start(t)
	v, err := a.Client.Agent().Version()
	if err != nil {
		t.Fatal(err)
	}
	hv, _ := v["HumanVersion"].(string)
	if hv != "1.22.3" || strings.Contains(hv, "ent") || v["FIPS"] != "" || v["BuildDate"] == "" || v["BeaconVersion"] == "" {
		t.Fatalf("version: %v", v)
	}
	if _, ok := v["SHA"].(string); !ok {
		t.Fatalf("no SHA: %v", v)
	}
}

// The coordinate endpoints say plainly that there are no network
// coordinates, rather than answering an empty list.
func TestCoordinatesNotImplemented(t *testing.T) {
	a := testagent.Start(t)
	if _, err := a.Client.Coordinate().Datacenters(); err == nil || !strings.Contains(err.Error(), "501") ||
		!strings.Contains(err.Error(), "network coordinates are not supported") {
		t.Fatalf("datacenters: %v", err)
	}
	if _, _, err := a.Client.Coordinate().Nodes(nil); err == nil || !strings.Contains(err.Error(), "501") {
		t.Fatalf("nodes: %v", err)
	}
	if _, _, err := a.Client.Coordinate().Node(a.Agent.Node().Node, nil); err == nil || !strings.Contains(err.Error(), "501") {
		t.Fatalf("node: %v", err)
	}
	_, err := a.Client.Coordinate().Update(&api.CoordinateEntry{Node: a.Agent.Node().Node, Coord: nil}, nil)
	if err == nil || !strings.Contains(err.Error(), "501") {
		t.Fatalf("update: %v", err)
	}
	if code, body := do(t, "PUT", a.URL("/v1/coordinate/update"), "", `{"Coord":{}}`); code != 400 || !strings.Contains(body, "Missing Node") {
		t.Fatalf("update without a node: %d %s", code, body)
	}
}
