package dns_test

import (
	"encoding/binary"
	"fmt"
	beacondns "github.com/beacon-sd/beacon/core/dns"
	"net"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/testagent"
)

// benchServer is what the sdbench dns load runs against: a service with
// three healthy instances, each on its own node, served on loopback UDP.
func benchServer(b *testing.B) (*beacondns.Server, string) {
	b.Helper()
	a := testagent.Start(b)
	f := &fixture{Agent: a, node: a.Agent.Node().Node}
	for i := 0; i < 3; i++ {
		f.register(b, fmt.Sprintf("benchdns-node-%d", i), fmt.Sprintf("127.2.0.%d", i+1), nil,
			&api.AgentService{ID: fmt.Sprintf("benchdns-%d", i), Service: "benchdns", Port: 21000 + i})
	}
	cfg := f.config()
	cfg.NodeMetaTXT = true
	s, udp, _ := serve(b, cfg)
	return s, udp
}

func BenchmarkServiceA(b *testing.B)   { benchUDP(b, dns.TypeA) }
func BenchmarkServiceSRV(b *testing.B) { benchUDP(b, dns.TypeSRV) }

// benchUDP asks for benchdns.service.consul. over UDP from 16 clients at
// once, each on its own socket waiting for each reply before the next
// question, as sdbench does; it reports queries/s and the latency
// quantiles.
func benchUDP(b *testing.B, qtype uint16) {
	_, addr := benchServer(b)
	q := query("benchdns.service.consul.", qtype)
	wire, err := q.Pack()
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("udp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		mine := make([]time.Duration, 0, 1<<16)
		msg := append([]byte(nil), wire...)
		var id uint16
		for pb.Next() {
			id++
			binary.BigEndian.PutUint16(msg[0:], id)
			t0 := time.Now()
			if _, err := c.Write(msg); err != nil {
				b.Error(err)
				return
			}
			c.SetReadDeadline(t0.Add(2 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
			if n < 12 || binary.BigEndian.Uint16(buf[0:]) != id || buf[3]&0xf != 0 || binary.BigEndian.Uint16(buf[6:]) != 3 {
				b.Errorf("bad reply % x", buf[:min(n, 16)])
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "queries/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkHandler measures the handler alone, in memory: what a query
// costs the server beyond the socket calls.
func BenchmarkHandler(b *testing.B) {
	s, _ := benchServer(b)
	for _, qt := range []uint16{dns.TypeA, dns.TypeSRV} {
		b.Run(dns.TypeToString[qt], func(b *testing.B) {
			req := query("benchdns.service.consul.", qt)
			w := &discard{}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				s.ServeDNS(w, req)
			}
		})
	}
}

// discard is a ResponseWriter that packs and drops, as a socket writer
// would pack and send.
type discard struct{ buf []byte }

func (d *discard) LocalAddr() net.Addr  { return &net.UDPAddr{} }
func (d *discard) RemoteAddr() net.Addr { return &net.UDPAddr{} }
func (d *discard) WriteMsg(m *dns.Msg) error {
	var err error
	d.buf, err = m.PackBuffer(d.buf[:cap(d.buf)])
	return err
}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) Close() error                { return nil }
func (d *discard) TsigStatus() error           { return nil }
func (d *discard) TsigTimersOnly(bool)         {}
func (d *discard) Hijack()                     {}
