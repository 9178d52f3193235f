package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/beacon-sd/beacon/core/testagent"
)

// The benchmarks drive the API through the whole stack: the official
// agent wiring (testagent), the HTTP server over loopback and one
// keep-alive net/http client shared by every goroutine. They report
// ns/op and allocations of client and agent together (both live in the
// test process). They are for `go test -bench`; nothing here fails on a
// time.

// benchParallelism is goroutines per GOMAXPROCS for RunParallel: requests
// are mostly waiting on loopback, so a few per CPU keep the server busy.
const benchParallelism = 4

// benchClient is the one HTTP client of a benchmark, with enough idle
// connections kept that no request pays for a new one (BlockingWake holds
// 100 at once).
type benchClient struct {
	c    *http.Client
	base string
}

func newBenchClient(b *testing.B, a *testagent.Agent) *benchClient {
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	return &benchClient{c: &http.Client{Transport: tr, Timeout: time.Minute}, base: "http://" + a.HTTPAddr}
}

// do sends a request and reads the body into buf (reset first), so that a
// goroutine reuses one buffer.
func (c *benchClient) do(method, path string, body []byte, buf *bytes.Buffer) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	resp, err := c.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	return resp, nil
}

// must sends a request outside the timed loop and fails the benchmark
// unless the status is 200.
func (c *benchClient) must(b *testing.B, method, path string, body []byte) (*http.Response, []byte) {
	b.Helper()
	var buf bytes.Buffer
	resp, err := c.do(method, path, body, &buf)
	if err != nil {
		b.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, buf.Bytes())
	}
	return resp, buf.Bytes()
}

// parallelSetup runs n setup calls on a few goroutines.
func parallelSetup(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

const benchKeys = 1000

var benchValue = bytes.Repeat([]byte("v"), 128)

func kvPath(i int) string { return "/v1/kv/bench/key-" + strconv.Itoa(i%benchKeys) }

// BenchmarkKVGet reads 128-byte values over 1000 keys.
func BenchmarkKVGet(b *testing.B) {
	a := testagent.Start(b)
	c := newBenchClient(b, a)
	parallelSetup(benchKeys, func(i int) { c.must(b, http.MethodPut, kvPath(i), benchValue) })
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			resp, err := c.do(http.MethodGet, kvPath(int(n.Add(1))), nil, &buf)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("GET: %v %v %s", err, resp, buf.Bytes())
				return
			}
		}
	})
}

// BenchmarkKVPut writes 128-byte values over 1000 keys.
func BenchmarkKVPut(b *testing.B) {
	a := testagent.Start(b)
	c := newBenchClient(b, a)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			resp, err := c.do(http.MethodPut, kvPath(int(n.Add(1))), benchValue, &buf)
			if err != nil || resp.StatusCode != http.StatusOK || buf.String() != "true" {
				b.Errorf("PUT: %v %v %s", err, resp, buf.Bytes())
				return
			}
		}
	})
}

const (
	benchServices  = 1000
	benchInstances = 3
)

// registerBody is a /v1/catalog/register body for instance inst of
// service svc, with a check of the given status; port varies it.
func registerBody(svc, inst, port int, status string) []byte {
	node := "bench-node-" + strconv.Itoa(inst)
	name := "svc-" + strconv.Itoa(svc)
	id := name + "-" + strconv.Itoa(inst)
	return []byte(fmt.Sprintf(`{"Node":%q,"Address":"10.0.0.%d","Service":{"ID":%q,"Service":%q,"Tags":["v1"],"Port":%d},`+
		`"Check":{"CheckID":"check:%s","Name":"alive","Status":%q,"ServiceID":%q}}`,
		node, inst+1, id, name, port, id, status, id))
}

// BenchmarkHealthServicePassing reads /v1/health/service/<name>?passing for
// 1000 services of 3 instances each, every instance with a passing check.
func BenchmarkHealthServicePassing(b *testing.B) {
	a := testagent.Start(b)
	c := newBenchClient(b, a)
	parallelSetup(benchServices*benchInstances, func(i int) {
		c.must(b, http.MethodPut, "/v1/catalog/register", registerBody(i/benchInstances, i%benchInstances, 8000+i, "passing"))
	})
	_, body := c.must(b, http.MethodGet, "/v1/health/service/svc-7?passing", nil)
	var entries []json.RawMessage
	if err := json.Unmarshal(body, &entries); err != nil || len(entries) != benchInstances {
		b.Fatalf("health of svc-7: %d entries (%v): %s", len(entries), err, body)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			path := "/v1/health/service/svc-" + strconv.Itoa(int(n.Add(1))%benchServices) + "?passing"
			resp, err := c.do(http.MethodGet, path, nil, &buf)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("GET %s: %v %v %s", path, err, resp, buf.Bytes())
				return
			}
		}
	})
}

// BenchmarkCatalogRegister registers service instances through
// /v1/catalog/register: 1000 instances on 3 nodes, each registration
// changing the instance's port so that every one is a real write.
func BenchmarkCatalogRegister(b *testing.B) {
	a := testagent.Start(b)
	c := newBenchClient(b, a)
	const distinct = 1000
	bodies := make([][]byte, 2*distinct)
	for i := range bodies {
		svc := i % distinct
		bodies[i] = registerBody(svc, svc%benchInstances, 8000+i, "passing")
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			resp, err := c.do(http.MethodPut, "/v1/catalog/register", bodies[int(n.Add(1))%len(bodies)], &buf)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("register: %v %v %s", err, resp, buf.Bytes())
				return
			}
		}
	})
}

// blockingWakers is how many blocking queries BenchmarkBlockingWake parks.
const blockingWakers = 100

// BenchmarkBlockingWake parks 100 blocking GETs on one key (?index= its
// current index), then writes the key. One op is the write plus the wait
// until every parked query has returned; parking is not timed. It reports
// the 50th and 99th percentile, over all queries of all ops, of the time
// from sending the write to a query's response arriving (p50-wake-ms,
// p99-wake-ms).
func BenchmarkBlockingWake(b *testing.B) {
	a := testagent.Start(b)
	c := newBenchClient(b, a)
	const key = "/v1/kv/bench/wake"
	c.must(b, http.MethodPut, key, []byte("0"))
	parked := func() float64 {
		var m dto.Metric
		if err := a.Metrics.BlockingActive.Write(&m); err != nil {
			b.Fatalf("reading the blocking gauge: %v", err)
		}
		return m.GetGauge().GetValue()
	}
	lat := make([]time.Duration, 0, b.N*blockingWakers)
	done := make([]time.Time, blockingWakers)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		resp, _ := c.must(b, http.MethodGet, key, nil)
		index := resp.Header.Get("X-Consul-Index")
		var wg sync.WaitGroup
		var failed atomic.Value
		for j := 0; j < blockingWakers; j++ {
			wg.Add(1)
			go func(j int) {
				defer wg.Done()
				var buf bytes.Buffer
				resp, err := c.do(http.MethodGet, key+"?wait=30s&index="+index, nil, &buf)
				done[j] = time.Now()
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Store(fmt.Sprintf("blocking GET: %v %v %s", err, resp, buf.Bytes()))
				} else if resp.Header.Get("X-Consul-Index") == index {
					failed.Store("a blocking GET returned without a change (timed out?)")
				}
			}(j)
		}
		for deadline := time.Now().Add(30 * time.Second); parked() < blockingWakers; {
			if time.Now().After(deadline) {
				b.Fatalf("only %v of %d blocking queries parked", parked(), blockingWakers)
			}
			time.Sleep(100 * time.Microsecond)
		}
		time.Sleep(time.Millisecond) // let the last ones reach their wait
		b.StartTimer()
		start := time.Now()
		c.must(b, http.MethodPut, key, []byte(strconv.Itoa(i+1)))
		wg.Wait()
		b.StopTimer()
		if msg := failed.Load(); msg != nil {
			b.Fatal(msg)
		}
		for _, t := range done {
			lat = append(lat, t.Sub(start))
		}
		b.StartTimer()
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-wake-ms")
	b.ReportMetric(pct(0.99), "p99-wake-ms")
}
