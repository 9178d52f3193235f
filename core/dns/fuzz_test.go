package dns_test

import (
	"encoding/binary"
	beacondns "github.com/beacon-sd/beacon/core/dns"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// rawQuery is a query for name with its header counts set by hand.
func rawQuery(t testing.TB, name string, qtype uint16, qdcount uint16) []byte {
	t.Helper()
	b, err := query(name, qtype).Pack()
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint16(b[4:], qdcount)
	return b
}

// oversizeLabel is a query whose first label is 64 bytes long.
func oversizeLabel() []byte {
	b := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 64}
	for i := 0; i < 64; i++ {
		b = append(b, 'a')
	}
	return append(b, 0, 0, 1, 0, 1)
}

// badInputs are messages a server must survive; nil rcode means any
// answer or none.
func badInputs(t testing.TB) []struct {
	name  string
	data  []byte
	rcode int // -1: dropped or any rcode
} {
	five := rawQuery(t, "web.service.consul.", dns.TypeA, 1)
	q := five[12:]
	for i := 0; i < 4; i++ {
		five = append(five, q...)
	}
	binary.BigEndian.PutUint16(five[4:], 5)
	return []struct {
		name  string
		data  []byte
		rcode int
	}{
		{"no question", rawQuery(t, "web.service.consul.", dns.TypeA, 0)[:12], dns.RcodeFormatError},
		{"five questions", five, dns.RcodeFormatError},
		{"count says five, one there", rawQuery(t, "web.service.consul.", dns.TypeA, 5), dns.RcodeFormatError},
		{"oversize label", oversizeLabel(), dns.RcodeFormatError},
		{"garbage", []byte("\x12\x34 this is not DNS at all, just bytes \xff\xfe\x00"), -1},
		{"short", []byte{0x12, 0x34, 0x01}, -1},
		{"pointer loop", []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}, dns.RcodeFormatError},
	}
}

// TestBadInput sends malformed messages to a real server over UDP and
// TCP and checks each gets FORMERR or nothing, and that the server answers
// a good query after them.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	_, udp, tcp := serve(t, f.config())
	for _, in := range badInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			c, err := net.Dial("udp", udp)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(in.data)
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			buf := make([]byte, 4096)
			n, err := c.Read(buf)
			switch {
			case err != nil && in.rcode >= 0:
				t.Errorf("no reply, want %s", dns.RcodeToString[in.rcode])
			case err == nil:
				m := new(dns.Msg)
				if uerr := m.Unpack(buf[:n]); uerr != nil && in.rcode >= 0 {
					t.Errorf("reply does not parse: %v", uerr)
				} else if in.rcode >= 0 && m.Rcode != in.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[in.rcode])
				}
			}

			tc, err := net.Dial("tcp", tcp)
			if err != nil {
				t.Fatal(err)
			}
			defer tc.Close()
			framed := binary.BigEndian.AppendUint16(nil, uint16(len(in.data)))
			tc.Write(append(framed, in.data...))
			tc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			tc.Read(buf)

			// Still serving, on both.
			for _, net := range []string{"udp", "tcp"} {
				addr := udp
				if net == "tcp" {
					addr = tcp
				}
				m := exchange(t, addr, net, query("rails.web.service.consul.", dns.TypeA))
				(zoneCase{Answer: []string{"rails.web.service.consul. 0 IN A 10.0.0.1"}}).check(t, f.node, m)
			}
		})
	}
}

// TestHandlerOddMessages gives the handler, in memory, messages the
// server's own checks would have turned away, as another mux might pass
// them on.
func TestHandlerOddMessages(t *testing.T) {
	f := newFixture(t)
	s, _ := beacondns.New(f.config())
	defer s.Shutdown()

	none := new(dns.Msg)
	none.Id = 7
	if m := ask(t, s, none, false); m.Rcode != dns.RcodeFormatError {
		t.Errorf("no question: %s", dns.RcodeToString[m.Rcode])
	}
	two := query("web.service.consul.", dns.TypeA)
	two.Question = append(two.Question, two.Question[0])
	if m := ask(t, s, two, false); m.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: %s", dns.RcodeToString[m.Rcode])
	}
	upd := query("consul.", dns.TypeSOA)
	upd.Opcode = dns.OpcodeUpdate
	if m := ask(t, s, upd, false); m.Rcode != dns.RcodeNotImplemented {
		t.Errorf("update: %s", dns.RcodeToString[m.Rcode])
	}
	ch := query("web.service.consul.", dns.TypeTXT)
	ch.Question[0].Qclass = dns.ClassCHAOS
	if m := ask(t, s, ch, false); m.Rcode != dns.RcodeRefused {
		t.Errorf("CHAOS class: %s", dns.RcodeToString[m.Rcode])
	}
	resp := query("web.service.consul.", dns.TypeA)
	resp.Response = true
	rec := &recorder{}
	s.ServeDNS(rec, resp)
	if rec.msg != nil {
		t.Errorf("answered a response")
	}
}

// FuzzHandler feeds raw message bytes to the handler, as the server does
// with what it reads from a socket: whatever parses is answered with a
// reply that parses, carries the query's ID and is marked as a response.
func FuzzHandler(f *testing.F) {
	fx := newFixture(f)
	fx.registerMany(f, "big", 40, true)
	up := startUpstream(f, dns.RcodeSuccess, "192.0.2.7")
	cfg := fx.config()
	cfg.Recursors = []string{up.addr}
	cfg.RecursorTimeout = 100 * time.Millisecond
	cfg.EnableTruncate = true
	s, err := beacondns.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Shutdown)

	for _, in := range badInputs(f) {
		f.Add(in.data, false)
	}
	for _, zc := range zoneCases {
		b, _ := query(zc.Qname, zc.Qtype).Pack()
		f.Add(b, false)
	}
	for _, qt := range []uint16{dns.TypeA, dns.TypeSRV, dns.TypeAAAA, dns.TypeANY} {
		q := query("big.service.consul.", qt)
		b, _ := q.Pack()
		f.Add(b, false)
		q.SetEdns0(1232, true)
		b, _ = q.Pack()
		f.Add(b, true)
	}
	b, _ := query("example.org.", dns.TypeA).Pack()
	f.Add(b, false)

	f.Fuzz(func(t *testing.T, data []byte, tcp bool) {
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return // the server answers FORMERR itself, or drops it
		}
		rec := &recorder{tcp: tcp}
		s.ServeDNS(rec, req)
		if rec.err != nil {
			t.Fatalf("reply to %v does not pack or parse: %v", req, rec.err)
		}
		if rec.msg == nil {
			if !req.Response {
				t.Fatalf("no reply to %v", req)
			}
			return
		}
		if rec.msg.Id != req.Id || !rec.msg.Response {
			t.Fatalf("reply %v to %v", rec.msg, req)
		}
		if !tcp && len(req.Question) == 1 && req.Question[0].Qtype != dns.TypeAXFR {
			if size := rec.msg.Len(); size > 65535 {
				t.Fatalf("UDP reply of %d bytes", size)
			}
		}
	})
}
