package state

import (
	"fmt"
	"testing"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

func BenchmarkKVSet(b *testing.B) {
	s := newTestStore(b)
	val := make([]byte, 128)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench/put/k%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.idx++
		s.Apply(s.idx, &structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{
			Op: structs.KVSet, DirEnt: structs.DirEntry{Key: keys[i%len(keys)], Value: val}}})
	}
}

// BenchmarkKVSetGroup applies KV writes as the servers do under load: in
// groups of 26 (the mean group of the c64 cluster benchmark) at one index.
// Reported per write.
func BenchmarkKVSetGroup(b *testing.B) {
	s := newTestStore(b)
	val := make([]byte, 128)
	const size = 26
	reqs := make([]*structs.KVSRequest, 1000)
	for i := range reqs {
		reqs[i] = &structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: fmt.Sprintf("bench/put/k%d", i), Value: val}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += size {
		group := make([]*structs.KVSRequest, size)
		for k := range group {
			group[k] = reqs[(i+k*37)%len(reqs)]
		}
		s.idx++
		s.ApplyBatch([]BatchEntry{{Index: s.idx, Group: group}})
	}
}

func BenchmarkKVGet(b *testing.B) {
	s := newTestStore(b)
	for i := 0; i < 1000; i++ {
		s.kv(structs.KVSet, fmt.Sprintf("bench/get/k%d", i), "value", 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.KVGet(nil, "bench/get/k500")
	}
}

func registration(i int) *structs.Command {
	id := fmt.Sprintf("svc-%d-%d", i/3, i%3)
	return &structs.Command{Type: structs.RegisterRequestType, Register: &structs.RegisterRequest{
		Node: fmt.Sprintf("node-%d", i), Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
		Service: &structs.NodeService{ID: id, Service: fmt.Sprintf("svc-%d", i/3), Port: 80, Tags: []string{"bench"},
			Weights: structs.Weights{Passing: 1, Warning: 1}},
		Check: &structs.HealthCheck{CheckID: "service:" + id, Name: "c", Status: structs.HealthPassing, ServiceID: id},
	}}
}

func BenchmarkCatalogRegister(b *testing.B) {
	s := newTestStore(b)
	cmds := make([]*structs.Command, b.N)
	for i := range cmds {
		cmds[i] = registration(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.idx++
		if _, err := s.Apply(s.idx, cmds[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHealthServicePassing(b *testing.B) {
	s := newTestStore(b)
	for i := 0; i < 3000; i++ {
		s.idx++
		s.Apply(s.idx, registration(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ws := memdb.NewWatchSet()
		_, out, _ := s.CheckServiceNodes(ws, fmt.Sprintf("svc-%d", i%1000), nil, nil, true)
		if len(out) != 3 {
			b.Fatal(len(out))
		}
	}
}
