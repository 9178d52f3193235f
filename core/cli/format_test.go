package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestWriteServices(t *testing.T) {
	services := map[string][]string{
		"web":    {"v2", "rails", "v2"},
		"consul": {},
		"db":     {"primary"},
	}
	var b bytes.Buffer
	writeServices(&b, services, false)
	if want := "consul\ndb\nweb\n"; b.String() != want {
		t.Errorf("plain:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	writeServices(&b, services, true)
	want := "consul\n" +
		"db      primary\n" +
		"web     rails,v2\n"
	if b.String() != want {
		t.Errorf("tags:\n%q\nwant\n%q", b.String(), want)
	}
}

func TestWriteNodes(t *testing.T) {
	nodes := []*api.Node{
		{Node: "alpha", ID: "0123456789abcdef-0000", Address: "10.0.0.1", Datacenter: "dc1",
			TaggedAddresses: map[string]string{"wan": "1.2.3.4", "lan": "10.0.0.1"}, Meta: map[string]string{"rack": "r1"}},
		{Node: "b", ID: "short", Address: "10.0.0.22", Datacenter: "dc1"},
	}
	var b bytes.Buffer
	writeNodes(&b, nodes, false)
	want := "Node   ID        Address    DC\n" +
		"alpha  01234567  10.0.0.1   dc1\n" +
		"b      short     10.0.0.22  dc1\n"
	if b.String() != want {
		t.Errorf("nodes:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	writeNodes(&b, nodes, true)
	lines := strings.Split(b.String(), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "Node ID Address DC TaggedAddresses Meta" {
		t.Errorf("detailed header %q", lines[0])
	}
	if !strings.Contains(lines[1], "0123456789abcdef-0000") || !strings.HasSuffix(lines[1], "lan=10.0.0.1, wan=1.2.3.4  rack=r1") {
		t.Errorf("detailed row %q", lines[1])
	}
}

func TestNodesOfService(t *testing.T) {
	entries := []*api.CatalogService{
		{Node: "n1", ID: "id1", Address: "10.0.0.1", Datacenter: "dc1", ServiceID: "web-1"},
		{Node: "n1", ID: "id1", Address: "10.0.0.1", Datacenter: "dc1", ServiceID: "web-2"},
		{Node: "n2", ID: "id2", Address: "10.0.0.2", Datacenter: "dc1", NodeMeta: map[string]string{"a": "b"}},
	}
	nodes := nodesOfService(entries)
	if len(nodes) != 2 || nodes[0].Node != "n1" || nodes[1].Node != "n2" || nodes[1].Meta["a"] != "b" {
		t.Errorf("got %+v", nodes)
	}
}

func member(name, addr string, status int, tags map[string]string) *api.AgentMember {
	return &api.AgentMember{Name: name, Addr: addr, Port: 8301, Status: status, Tags: tags}
}

func TestWriteMembers(t *testing.T) {
	ms := []*api.AgentMember{
		member("web-1", "10.0.0.3", 1, map[string]string{"role": "node", "build": "1.22.3:abcdef", "vsn": "2", "dc": "dc1"}),
		member("srv-b", "10.0.0.2", 4, map[string]string{"role": "consul", "build": "1.22.3", "vsn": "2", "dc": "dc1"}),
		member("srv-a", "10.0.0.1", 1, map[string]string{"role": "consul", "build": "1.22.3", "vsn": "2", "dc": "dc1"}),
		member("edge", "10.0.0.4", 3, map[string]string{"role": "node", "dc": "dc1", "segment": "alpha"}),
	}
	sortMembers(ms)
	var b bytes.Buffer
	writeMembers(&b, ms)
	want := "" +
		"Node   Address        Status  Type    Build   Protocol  DC   Partition  Segment\n" +
		"srv-a  10.0.0.1:8301  alive   server  1.22.3  2         dc1  default    <all>\n" +
		"srv-b  10.0.0.2:8301  failed  server  1.22.3  2         dc1  default    <all>\n" +
		"web-1  10.0.0.3:8301  alive   client  1.22.3  2         dc1  default    <default>\n" +
		"edge   10.0.0.4:8301  left    client                    dc1  default    alpha\n"
	if b.String() != want {
		t.Errorf("members:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	writeMembersDetailed(&b, ms[:1])
	want = "Node   Address        Status  Tags\n" +
		"srv-a  10.0.0.1:8301  alive   build=1.22.3,dc=dc1,role=consul,vsn=2\n"
	if b.String() != want {
		t.Errorf("detailed:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestMemberStatus(t *testing.T) {
	want := map[int]string{0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed", 9: "unknown"}
	for s, name := range want {
		if got := memberStatus(s); got != name {
			t.Errorf("memberStatus(%d) = %q, want %q", s, got, name)
		}
	}
}

func TestMembersBadStatusRegexp(t *testing.T) {
	code, _, errOut := runArgs("beacon", "members", "-status", "(")
	if code != 1 || !strings.Contains(errOut, "-status regexp") {
		t.Errorf("code %d stderr %q", code, errOut)
	}
}
