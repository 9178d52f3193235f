package httpserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	beaconhttp "github.com/beacon-sd/beacon/core/http"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/testagent"
)

// BenchmarkAPIServers serves the API of a dev agent through this package's
// server and through net/http's HTTP/1.1 server (the same handler, reached
// as HTTP/2 streams reach it), each on its own loopback port, and measures
// what a client sees:
//
//   - kv-get: keep-alive connections each sending GETs of 128-byte keys one
//     after another; req/s, latency percentiles, and the CPU time of
//     client and server per request.
//   - idle: connections that sent one GET each and stay open; Go heap and
//     stack per connection. server=none is the floor: both ends' sockets
//     with no server behind them.
//
// Client and servers share the process (and the machine's CPUs):
//
//	go test -run '^$' -bench APIServers -benchtime 20000x -count 5 ./core/httpserver
func BenchmarkAPIServers(b *testing.B) {
	a := testagent.Start(b)
	kv := a.Client.KV()
	for i := 0; i < benchKeys; i++ {
		if _, err := kv.Put(&api.KVPair{Key: "bench/key-" + strconv.Itoa(i), Value: make([]byte, 128)}, nil); err != nil {
			b.Fatal(err)
		}
	}
	handler := beaconhttp.New(beaconhttp.Config{Agent: a.Agent, Datacenter: a.Config().Datacenter})
	ours := &httpserver.Server{Handler: handler, MaxBodyBytes: beaconhttp.MaxBody(0, 0), Admit: handler.Admit}
	std := &http.Server{Handler: httpserver.NetHTTP(ours)}
	servers := []struct {
		name  string
		serve func(net.Listener) error
	}{
		{"httpserver", ours.Serve},
		{"net-http", std.Serve},
	}
	addrs := map[string]string{}
	for _, s := range servers {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go s.serve(l)
		addrs[s.name] = l.Addr().String()
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ours.Shutdown(ctx)
		std.Shutdown(ctx)
	})
	for _, conns := range []int{16, 256} {
		for _, s := range servers {
			b.Run(fmt.Sprintf("kv-get/conns=%d/server=%s", conns, s.name), func(b *testing.B) {
				kvGetLoad(b, addrs[s.name], conns)
			})
		}
	}
	held, release := holdServer(b)
	for _, name := range []string{"none", "httpserver", "net-http"} {
		addr, done := held, release
		if name != "none" {
			addr, done = addrs[name], func() {}
		}
		b.Run("idle/conns=5000/server="+name, func(b *testing.B) { idleConns(b, addr, 5000, done) })
	}
}

const benchKeys = 1000

func kvGet(i int) []byte {
	return []byte("GET /v1/kv/bench/key-" + strconv.Itoa(i%benchKeys) + " HTTP/1.1\r\nHost: bench\r\n\r\n")
}

// get sends one request on c and reads its answer.
func get(c net.Conn, br *bufio.Reader, req []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New(resp.Status)
	}
	return err
}

// kvGetLoad sends b.N GETs over conns keep-alive connections.
func kvGetLoad(b *testing.B, addr string, conns int) {
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}
	lat := make([][]time.Duration, conns)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReader(c)
			lat[i] = make([]time.Duration, 0, b.N/conns+1)
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				t0 := time.Now()
				if err := get(c, br, kvGet(int(n))); err != nil {
					failed.Store(&err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / 1e6 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-µs/req")
}

// processCPU is the user and system time the process has used: per
// request, it varies less than wall time on a busy machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// idleConns opens n connections that each send one GET, then measures the
// growth of Go's heap and stacks while they sit idle; done is called after
// the client closed them. It makes one measurement whatever b.N.
func idleConns(b *testing.B, addr string, n int, done func()) {
	before := liveBytes()
	cs := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
		done()
		time.Sleep(500 * time.Millisecond) // let the server drop them before the next measurement
	}()
	br := bufio.NewReader(nil)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
		br.Reset(c)
		if err := get(c, br, kvGet(i)); err != nil {
			b.Fatal(err)
		}
	}
	br.Reset(nil)
	time.Sleep(500 * time.Millisecond) // let the server park every connection
	b.ReportMetric(float64(liveBytes()-before)/float64(n), "B/conn")
	b.ReportMetric(0, "ns/op") // one measurement, not b.N of them
}

// liveBytes is the Go heap in use plus goroutine stacks, after a GC.
func liveBytes() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC() // the second one also frees what the first one's finalizers let go
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

// holdServer accepts connections, answers one request on each with a
// fixed response and then only holds them until release: the floor for
// idleConns.
func holdServer(b *testing.B) (addr string, release func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	release = func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		held = nil
		mu.Unlock()
	}
	b.Cleanup(func() {
		l.Close()
		release()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			go func() {
				buf := make([]byte, 512)
				if n, _ := c.Read(buf); n > 0 {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
				}
			}()
		}
	}()
	return l.Addr().String(), release
}
