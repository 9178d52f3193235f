package dns_test

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// digReply is what dig printed: the status and the records of each section.
type digReply struct {
	status    string
	truncated bool // dig said it retried over TCP
	sections  map[string][]dns.RR
}

// dig runs the real dig against addr and reads its output.
func dig(t *testing.T, addr string, args ...string) digReply {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	argv := append([]string{"@" + host, "-p", port, "+tries=1", "+time=5"}, args...)
	out, err := exec.Command("dig", argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	r := digReply{sections: map[string][]dns.RR{}}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.Contains(line, "Truncated, retrying in TCP mode"):
			r.truncated = true
		case strings.Contains(line, "status: "):
			r.status = strings.TrimSuffix(strings.Fields(line[strings.Index(line, "status: "):])[1], ",")
		case strings.HasPrefix(line, ";; ") && strings.HasSuffix(line, " SECTION:"):
			section = strings.TrimSuffix(strings.TrimPrefix(line, ";; "), " SECTION:")
		case line == "" || strings.HasPrefix(line, ";"):
		default:
			rr, err := dns.NewRR(line)
			if err != nil {
				t.Fatalf("dig printed %q: %v", line, err)
			}
			r.sections[section] = append(r.sections[section], rr)
		}
	}
	return r
}

// TestDig runs the seeds' dig commands against a server on loopback.
func TestDig(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig is not installed (Debian: apt-get install dnsutils; .ci/deps does it)")
	}
	f := newFixture(t)
	f.register(t, "consul-server01", "192.168.2.210", nil, nil)
	f.registerMany(t, "big", 6, false)
	cfg := f.config()
	cfg.EnableTruncate = true
	_, udp, _ := serve(t, cfg)

	for _, tc := range []struct {
		args              []string
		status            string
		answer, extra, ns []string
	}{
		{args: []string{"web.service.consul"}, status: "NOERROR", answer: []string{
			"web.service.consul. 0 IN A 10.0.0.1",
			"web.service.consul. 0 IN A 10.0.0.2",
		}},
		{args: []string{"web.service.consul", "SRV"}, status: "NOERROR",
			answer: []string{
				"web.service.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul.",
				"web.service.consul. 0 IN SRV 1 1 80 web-2.node.dc1.consul.",
			},
			extra: []string{
				"web-1.node.dc1.consul. 0 IN A 10.0.0.1",
				`web-1.node.dc1.consul. 0 IN TXT "rack=r1"`,
				"web-2.node.dc1.consul. 0 IN A 10.0.0.2",
			}},
		{args: []string{"rails.web.service.consul"}, status: "NOERROR", answer: []string{
			"rails.web.service.consul. 0 IN A 10.0.0.1",
		}},
		{args: []string{"_web._rails.service.consul", "SRV"}, status: "NOERROR",
			answer: []string{"_web._rails.service.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul."},
			extra:  []string{"web-1.node.dc1.consul. 0 IN A 10.0.0.1", `web-1.node.dc1.consul. 0 IN TXT "rack=r1"`}},
		{args: []string{"master.node.consul"}, status: "NOERROR",
			answer: []string{"master.node.consul. 0 IN A 192.168.1.15"},
			extra:  []string{`master.node.consul. 0 IN TXT "consul-network-segment="`}},
		{args: []string{"consul-server01.node.consul"}, status: "NOERROR",
			answer: []string{"consul-server01.node.consul. 0 IN A 192.168.2.210"}},
		{args: []string{"consul-server01.node.dc1.consul"}, status: "NOERROR",
			answer: []string{"consul-server01.node.dc1.consul. 0 IN A 192.168.2.210"}},
		{args: []string{"-x", "10.0.0.1"}, status: "NOERROR",
			answer: []string{"1.0.0.10.in-addr.arpa. 0 IN PTR web-1.node.dc1.consul."}},
		{args: []string{"nosuch.service.consul"}, status: "NXDOMAIN", ns: []string{soaConsul}},
		{args: []string{"+tcp", "web.service.consul"}, status: "NOERROR", answer: []string{
			"web.service.consul. 0 IN A 10.0.0.1",
			"web.service.consul. 0 IN A 10.0.0.2",
		}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := dig(t, udp, tc.args...)
			if r.status != tc.status {
				t.Errorf("status %q, want %q", r.status, tc.status)
			}
			compareSection(t, "answer", r.sections["ANSWER"], tc.answer)
			compareSection(t, "authority", r.sections["AUTHORITY"], tc.ns)
			compareSection(t, "additional", r.sections["ADDITIONAL"], tc.extra)
		})
	}

	// Without EDNS, six answers are over the UDP answer limit: the reply
	// has TC and dig gets them all over TCP.
	t.Run("truncated retry over TCP", func(t *testing.T) {
		r := dig(t, udp, "+noedns", "big.service.consul")
		if !r.truncated || len(r.sections["ANSWER"]) != 6 {
			t.Errorf("dig retried over TCP: %v, %d answers; want true, 6", r.truncated, len(r.sections["ANSWER"]))
		}
	})
}
