package filter

import (
	"fmt"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

// BenchmarkHealthFilter filters 1,000 health entries of a service, the
// list a watcher of /v1/health/service/<s>?filter= reads on every change.
func BenchmarkHealthFilter(b *testing.B) {
	entries := make([]structs.CheckServiceNode, 1000)
	for i := range entries {
		env := "dev"
		if i%10 == 0 {
			env = "prod"
		}
		entries[i] = structs.CheckServiceNode{
			Node:    &structs.Node{Node: fmt.Sprintf("n%d", i), Meta: map[string]string{"rack": "r1"}},
			Service: &structs.NodeService{ID: fmt.Sprint(i), Service: "web", Tags: []string{"v1", "v2"}, Meta: map[string]string{"env": env}},
			Checks:  []*structs.HealthCheck{{CheckID: "serfHealth", Status: "passing"}, {CheckID: "web", Status: "passing"}},
		}
	}
	b.Run("compile", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Health(`Service.Meta.env == "prod" and "v2" in Service.Tags and Checks.Status != critical`); err != nil {
				b.Fatal(err)
			}
		}
	})
	f, err := Health(`Service.Meta.env == "prod" and "v2" in Service.Tags and Checks.Status != critical`)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("1000 entries", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			got, err := f.Slice(entries)
			if err != nil || len(got) != 100 {
				b.Fatalf("%d, %v", len(got), err)
			}
		}
	})
}
