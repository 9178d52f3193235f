package http_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/beacon-sd/beacon/core/testagent"
)

// txnBody is a transaction of n operations of verb on keys offset..+n,
// with 128-byte values for writes.
func txnBody(verb string, offset, n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	val := base64.StdEncoding.EncodeToString(benchValue)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		key := fmt.Sprintf("bench/key-%d", (offset+i)%benchKeys)
		if verb == "set" {
			fmt.Fprintf(&b, `{"KV":{"Verb":"set","Key":%q,"Value":%q}}`, key, val)
		} else {
			fmt.Fprintf(&b, `{"KV":{"Verb":%q,"Key":%q}}`, verb, key)
		}
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// BenchmarkTxn measures transactions of 128 operations: 128 KV sets of
// 128-byte values (one log entry each), and 128 gets (answered without
// the log). ns/op is per transaction.
func BenchmarkTxn(b *testing.B) {
	for _, verb := range []string{"set", "get"} {
		b.Run(verb+"-128", func(b *testing.B) {
			a := testagent.Start(b)
			c := newBenchClient(b, a)
			bodies := make([][]byte, benchKeys/128+1)
			for i := range bodies {
				bodies[i] = txnBody(verb, i*128, 128)
			}
			if verb == "get" {
				for i := range bodies {
					c.must(b, http.MethodPut, "/v1/txn", txnBody("set", i*128, 128))
				}
			}
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var buf bytes.Buffer
				for pb.Next() {
					resp, err := c.do(http.MethodPut, "/v1/txn", bodies[int(n.Add(1))%len(bodies)], &buf)
					if err != nil || resp.StatusCode != http.StatusOK {
						b.Errorf("PUT /v1/txn: %v %v %.200s", err, resp, buf.Bytes())
						return
					}
				}
			})
		})
	}
}
