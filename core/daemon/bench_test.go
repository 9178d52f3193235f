package daemon

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/structs"
)

// startThreeServers runs a three-server cluster in this process and returns
// its members once one of them leads.
func startThreeServers(b testing.TB) []*Daemon {
	b.Helper()
	var ds []*Daemon
	for i := 0; i < 3; i++ {
		ds = append(ds, startClusterServer(b, fmt.Sprintf("s%d", i), 3))
	}
	host, port := ds[0].Gossip.LocalAddr()
	for _, d := range ds[1:] {
		if _, err := d.Join([]string{host + ":" + strconv.Itoa(port)}); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		for _, d := range ds {
			if d.Server.IsLeader() {
				return ds
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("no leader")
		}
	}
}

// startClusterServer starts one server on free loopback ports; expect is
// its bootstrap_expect (0 for a server that joins an existing cluster).
func startClusterServer(b testing.TB, name string, expect int) *Daemon {
	b.Helper()
	return startServerWith(b, name, expect, "{}")
}

// startServerWith is startClusterServer with more configuration, a JSON
// object merged over the rest.
func startServerWith(b testing.TB, name string, expect int, extra string) *Daemon {
	b.Helper()
	src := config.Source{Name: "bench", Format: "json", Data: []byte(fmt.Sprintf(
		`{"node_name":%q,"server":true,"bootstrap_expect":%d,"bind_addr":"127.0.0.1","data_dir":%q,`+
			`"ports":{"http":0,"dns":-1,"server":0,"serf_lan":0},"log_level":"error"}`, name, expect, b.TempDir()))}
	cfg, err := config.Build(false, []config.Source{src, {Name: "extra", Format: "json", Data: []byte(extra)}})
	if err != nil {
		b.Fatal(err)
	}
	d, err := Start(cfg, Options{Logger: hclog.NewNullLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Shutdown)
	return d
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the process's CPU time per operation to b's results: on a
// shared machine it is steadier than wall time.
func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64((cpuTime()-since).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkClusterKVPut measures replicated KV writes on a three-server
// cluster: straight into the leader's server, and over HTTP through the
// leader and through a follower (which forwards). Run with -cpu and
// -benchtime; parallelism is 32 writers per GOMAXPROCS.
func BenchmarkClusterKVPut(b *testing.B) {
	ds := startThreeServers(b)
	var leader, follower *Daemon
	for _, d := range ds {
		if d.Server.IsLeader() {
			leader = d
		} else {
			follower = d
		}
	}
	var seq atomic.Int64
	value := []byte("some value of a realistic size, about sixty-four bytes long....")
	b.Run("server", func(b *testing.B) {
		b.SetParallelism(32)
		defer reportCPU(b, cpuTime())
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				args := structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "bench/" + strconv.FormatInt(seq.Add(1)%1000, 10), Value: value}}
				if _, err := leader.Server.KVApply(context.Background(), &args); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("server-seq", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			args := structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "bench/seq", Value: value}}
			if _, err := leader.Server.KVApply(context.Background(), &args); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, target := range []struct {
		name string
		d    *Daemon
		seq  bool
	}{{"http-leader", leader, false}, {"http-follower", follower, false}, {"http-leader-seq", leader, true}} {
		b.Run(target.name, func(b *testing.B) {
			ac := api.DefaultConfig()
			ac.Address = target.d.HTTPAddrs()[0].String()
			ac.Transport.MaxIdleConnsPerHost = 256
			c, err := api.NewClient(ac)
			if err != nil {
				b.Fatal(err)
			}
			if target.seq {
				kv := c.KV()
				for i := 0; i < b.N; i++ {
					if _, err := kv.Put(&api.KVPair{Key: "bench/seq", Value: value}, nil); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism(32)
			defer reportCPU(b, cpuTime())
			b.RunParallel(func(pb *testing.PB) {
				kv := c.KV()
				for pb.Next() {
					p := &api.KVPair{Key: "bench/" + strconv.FormatInt(seq.Add(1)%1000, 10), Value: value}
					if _, err := kv.Put(p, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
