package dns

import (
	"net"
	"testing"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		rest string
		srv  bool
		want question
	}{
		{"", false, question{kind: kindApex}},
		{"web.service", false, question{kind: kindService, service: "web"}},
		{"web.service.dc1", false, question{kind: kindService, service: "web", dc: "dc1"}},
		{"rails.web.service", false, question{kind: kindService, service: "web", tag: "rails"}},
		{"v1.2.web.service.dc1", false, question{kind: kindService, service: "web", tag: "v1.2", dc: "dc1"}},
		{"_web._tcp.service", false, question{kind: kindService, service: "web"}},
		{"_web._rails.service.dc1", false, question{kind: kindService, service: "web", tag: "rails", dc: "dc1"}},
		{"_web._rails", true, question{kind: kindService, service: "web", tag: "rails"}},
		{"_web._rails.dc1", true, question{kind: kindService, service: "web", tag: "rails", dc: "dc1"}},
		{"_web._rails", false, question{}},
		{"_web.service", true, question{kind: kindService, service: "web"}},
		{"master.node", false, question{kind: kindNode, node: "master"}},
		{"master.node.dc1", false, question{kind: kindNode, node: "master", dc: "dc1"}},
		{"ip-10-0-0-1.ec2.node", false, question{kind: kindNode, node: "ip-10-0-0-1.ec2"}},
		{"0a000001.addr.dc1", false, question{kind: kindAddr, dc: "dc1", ip: net.IP{10, 0, 0, 1}}},
		{"0a00001.addr", false, question{}},
		{"zz000001.addr", false, question{}},
		{"a.b.0a000001.addr", false, question{}},
		{"service", false, question{}},
		{"node.dc1", false, question{}},
		{"web.query", false, question{kind: kindQuery, query: "web"}},
		{"geo-db.eu.query.dc1", false, question{kind: kindQuery, query: "geo-db.eu", dc: "dc1"}},
		{"_web._tcp.query", true, question{kind: kindQuery, query: "web"}},
		{"_geo.db._tcp.query.dc1", false, question{kind: kindQuery, query: "geo.db", dc: "dc1"}},
		{"_web.query", false, question{kind: kindQuery, query: "_web"}},
		{"query", false, question{}},
		{"query.dc1", false, question{}},
		{"web.service.dc1.dc2", false, question{}},
		{"dc1", false, question{}},
		{"_.service", false, question{}},
	} {
		got := parseName(tc.rest, tc.srv)
		if got.kind != tc.want.kind || got.dc != tc.want.dc || got.node != tc.want.node ||
			got.service != tc.want.service || got.tag != tc.want.tag || !got.ip.Equal(tc.want.ip) ||
			got.query != tc.want.query {
			t.Errorf("parseName(%q, srv=%v) = %+v, want %+v", tc.rest, tc.srv, got, tc.want)
		}
	}
}

func TestParseReverse(t *testing.T) {
	for name, want := range map[string]string{
		"1.0.0.10.in-addr.arpa.": "10.0.0.1",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.": "fd00::1",
		"0.10.in-addr.arpa.":       "",
		"1.0.0.300.in-addr.arpa.":  "",
		"x.0.0.10.in-addr.arpa.":   "",
		"1.0.d.f.ip6.arpa.":        "",
		"10.0.0.1.example.org.":    "",
		"a1.0.0.10.in-addr.arpa.":  "",
		"1.0.0.010.in-addr.arpa.":  "",
		"01.0.0.10.in-addr.arpa.":  "",
		"1..0.10.in-addr.arpa.":    "",
		"1.0.0.10.in-addr.arpa.x.": "",
	} {
		got := parseReverse(name)
		if (want == "" && got != nil) || (want != "" && !got.Equal(net.ParseIP(want))) {
			t.Errorf("parseReverse(%q) = %v, want %q", name, got, want)
		}
	}
}

func TestEncodeAddr(t *testing.T) {
	for ip, want := range map[string]string{
		"10.1.0.1": "0a010001",
		"fd00::1":  "fd000000000000000000000000000001",
	} {
		if got := encodeAddr(net.ParseIP(ip)); got != want {
			t.Errorf("encodeAddr(%s) = %s, want %s", ip, got, want)
		}
		if got := decodeAddr(want); !got.Equal(net.ParseIP(ip)) {
			t.Errorf("decodeAddr(%s) = %v", want, got)
		}
	}
}
