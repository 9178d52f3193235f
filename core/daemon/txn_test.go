package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/server"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

func setOp(key, val string) *structs.TxnOp {
	return &structs.TxnOp{KV: &structs.TxnKVOp{Verb: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte(val)}}}
}

func leaderAndFollower(ds []*Daemon) (leader, follower *Daemon) {
	for _, d := range ds {
		if d.Server.IsLeader() {
			leader = d
		} else if follower == nil {
			follower = d
		}
	}
	return leader, follower
}

// A transaction sent to a follower goes to the leader and through the log
// as one entry that every server applies; sent again under its request ID
// it answers its first results; a read-only one is answered by the
// follower itself. While a server in the raft configuration does not say
// it applies transactions (an older build), a transaction is refused, not
// applied.
func TestTxnThroughTheLog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	ctx := context.Background()
	ds := startThreeServers(t)
	_, follower := leaderAndFollower(ds)
	req := &structs.TxnRequest{Ops: []*structs.TxnOp{
		setOp("txn/a", "1"),
		{Node: &structs.TxnNodeOp{Verb: structs.TxnSet, Node: structs.Node{Node: "ext", Address: "10.0.0.9"}}},
		{Service: &structs.TxnServiceOp{Verb: structs.TxnSet, Node: "ext", Service: structs.NodeService{Service: "db", Port: 5432}}},
	}, WriteRequest: structs.WriteRequest{RequestID: structs.GenerateUUID()}}
	first, err := follower.Server.TxnApply(ctx, req)
	if err != nil || len(first.Errors) != 0 || len(first.Results) != 3 {
		t.Fatalf("transaction: %+v %v", first, err)
	}
	idx := first.Results[0].KV.ModifyIndex
	if first.Results[1].Node.CreateIndex != idx || first.Results[2].Service.ID != "db" || first.Results[2].Service.ModifyIndex != idx {
		t.Fatalf("results not of one log entry at %d: %+v %+v", idx, first.Results[1].Node, first.Results[2].Service)
	}
	for _, d := range ds {
		waitfor.Until(t, 10*time.Second, d.node.Node+" to apply the transaction", func() bool {
			_, e, _ := d.Server.Store().KVGet(nil, "txn/a")
			_, _, svcs, _ := d.Server.Store().NodeServices(nil, "ext")
			return e != nil && e.ModifyIndex == idx && len(svcs) == 1
		})
	}
	again, err := follower.Server.TxnApply(ctx, req)
	if err != nil || len(again.Results) != 3 || again.Results[0].KV.ModifyIndex != idx {
		t.Fatalf("the transaction sent again: %+v %v; want the first results", again, err)
	}
	var read structs.TxnReadResponse
	readReq := &structs.TxnReadRequest{Ops: []*structs.TxnOp{{KV: &structs.TxnKVOp{Verb: structs.KVGet, DirEnt: structs.DirEntry{Key: "txn/a"}}}},
		QueryOptions: structs.QueryOptions{AllowStale: true}}
	if err := follower.Server.TxnRead(ctx, readReq, &read); err != nil || len(read.Results) != 1 || read.Results[0].KV.ModifyIndex != idx {
		t.Fatalf("read-only transaction: %+v %v", read, err)
	}
	if !read.KnownLeader {
		t.Error("a read-only transaction reports no known leader")
	}

	old := ds[2]
	tags := old.gossipTags()
	delete(tags, server.GossipTagTxn)
	if err := old.Gossip.SetTags(tags); err != nil {
		t.Fatal(err)
	}
	waitForTag := func(want string) {
		for _, d := range ds {
			waitfor.Until(t, 10*time.Second, "the tag change to spread", func() bool {
				for _, m := range d.Gossip.Members() {
					if m.Name == old.node.Node && m.Tags[server.GossipTagTxn] == want {
						return true
					}
				}
				return false
			})
		}
	}
	waitForTag("")
	_, err = follower.Server.TxnApply(ctx, &structs.TxnRequest{Ops: []*structs.TxnOp{setOp("txn/b", "1")}})
	if !errors.Is(err, structs.ErrTxnUnsupported) || structs.OutcomeUnknown(err) {
		t.Fatalf("a transaction with an older server in the cluster: %v", err)
	}
	// Through the follower's HTTP API: 503, which means not applied.
	hreq, _ := http.NewRequest("PUT", "http://"+follower.HTTPAddrs()[0].String()+"/v1/txn",
		strings.NewReader(`[{"KV":{"Verb":"set","Key":"txn/b","Value":"MQ=="}}]`))
	hresp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	if hresp.StatusCode != 503 || !strings.Contains(string(body), "older build") {
		t.Fatalf("over HTTP: %d %s", hresp.StatusCode, body)
	}
	for _, d := range ds {
		if _, e, _ := d.Server.Store().KVGet(nil, "txn/b"); e != nil {
			t.Fatalf("%s applied a refused transaction", d.node.Node)
		}
	}
	if err := old.Gossip.SetTags(old.gossipTags()); err != nil {
		t.Fatal(err)
	}
	waitForTag("1")
	if resp, err := follower.Server.TxnApply(ctx, &structs.TxnRequest{Ops: []*structs.TxnOp{setOp("txn/b", "1")}}); err != nil || len(resp.Errors) != 0 {
		t.Fatalf("a transaction once every server applies them: %+v %v", resp, err)
	}
}

// Transactions sent through a follower while the leader stops are answered
// truthfully: one answered as applied is in the store, one answered as not
// applied is not, and one of unknown outcome says so.
func TestTxnAnswersAreTrueAcrossALeaderChange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	ds := startThreeServers(t)
	leader, _ := leaderAndFollower(ds)
	var rest []*Daemon
	for _, d := range ds {
		if d != leader {
			rest = append(rest, d)
		}
	}
	type answer struct {
		key string
		err error
	}
	var mu sync.Mutex
	var answers []answer
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w, d := range rest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("lc/%d/%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				resp, err := d.Server.TxnApply(ctx, &structs.TxnRequest{Ops: []*structs.TxnOp{
					setOp(key, "x"), {KV: &structs.TxnKVOp{Verb: structs.KVGet, DirEnt: structs.DirEntry{Key: key}}}}})
				cancel()
				if err == nil && len(resp.Errors) != 0 {
					err = fmt.Errorf("rolled back: %s", resp.Errors[0].What)
				}
				mu.Lock()
				answers = append(answers, answer{key, err})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	leader.Shutdown()
	waitfor.Until(t, 30*time.Second, "a new leader", func() bool { return rest[0].Server.IsLeader() || rest[1].Server.IsLeader() })
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	applied, refused, unknown := 0, 0, 0
	for _, a := range answers {
		var out structs.IndexedDirEntries
		if err := readSettled(context.Background(), rest[0].Server, a.key, &out); err != nil {
			t.Fatal(err)
		}
		there := len(out.Entries) == 1
		switch {
		case a.err == nil:
			applied++
			if !there {
				t.Errorf("%s: answered as applied, not in the store", a.key)
			}
		case structs.OutcomeUnknown(a.err):
			unknown++
			if strings.Contains(a.err.Error(), structs.ErrNoLeader.Error()) {
				t.Errorf("%s: of unknown outcome, in words that read as not applied: %v", a.key, a.err)
			}
		default:
			refused++
			if there {
				t.Errorf("%s: answered %q, yet applied", a.key, a.err)
			}
			if !errors.Is(a.err, structs.ErrNoLeader) && !errors.Is(a.err, context.DeadlineExceeded) {
				t.Logf("%s: %v", a.key, a.err)
			}
		}
	}
	t.Logf("%d transactions: %d applied, %d not applied, %d of unknown outcome", len(answers), applied, refused, unknown)
	if applied == 0 {
		t.Fatal("no transaction applied")
	}
}

// A client agent sends a transaction to the servers, and answers the
// official client as a server's agent does.
func TestTxnThroughAClientAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and a client agent")
	}
	srv := startClusterServer(t, "s", 1)
	waitfor.Until(t, 20*time.Second, "a leader", srv.Server.IsLeader)
	src := config.Source{Name: "client", Format: "json", Data: []byte(fmt.Sprintf(
		`{"node_name":"c","server":false,"bind_addr":"127.0.0.1","data_dir":%q,`+
			`"ports":{"http":0,"dns":-1,"server":0,"serf_lan":0},"log_level":"error"}`, t.TempDir()))}
	cfg, err := config.Build(false, []config.Source{src})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := Start(cfg, Options{Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Shutdown)
	host, port := srv.Gossip.LocalAddr()
	if _, err := cl.Join([]string{host + ":" + strconv.Itoa(port)}); err != nil {
		t.Fatal(err)
	}
	ac := api.DefaultNonPooledConfig()
	ac.Address = cl.HTTPAddrs()[0].String()
	c, err := api.NewClient(ac)
	if err != nil {
		t.Fatal(err)
	}
	var ok bool
	var resp *api.TxnResponse
	waitfor.Until(t, 20*time.Second, "the client agent to reach the server", func() bool {
		ok, resp, _, err = c.Txn().Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "via/client", Value: []byte("1")}}}, nil)
		return err == nil
	})
	if !ok || len(resp.Results) != 1 || resp.Results[0].KV.Key != "via/client" {
		t.Fatalf("transaction: %v %+v", ok, resp)
	}
	ok, resp, meta, err := c.Txn().Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "via/client"}}}, &api.QueryOptions{AllowStale: true})
	if err != nil || !ok || string(resp.Results[0].KV.Value) != "1" || !meta.KnownLeader {
		t.Fatalf("read-only transaction: %v %v %+v %+v", ok, err, resp, meta)
	}
	ok, resp, _, err = c.Txn().Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: "via/client", Value: []byte("2"), Index: 1}}}, nil)
	if err != nil || ok || len(resp.Errors) != 1 || resp.Errors[0].What != `failed to set key "via/client", index is stale` {
		t.Fatalf("a failing transaction: %v %v %+v", ok, err, resp)
	}
}
