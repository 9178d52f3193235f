package cli

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/snapshot"
)

func TestKeygen(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		code, out, errOut := runArgs("beacon", "keygen")
		if code != 0 || errOut != "" {
			t.Fatalf("keygen: %d %q", code, errOut)
		}
		key := strings.TrimSuffix(out, "\n")
		raw, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(raw) != 32 || len(key) != 44 || seen[key] {
			t.Fatalf("key %q: %d bytes, %v, repeated %v", key, len(raw), err, seen[key])
		}
		seen[key] = true
	}
	if _, err := newKey(strings.NewReader("short")); err == nil {
		t.Error("a short read made a key")
	}
}

// Every refusal that needs no agent: the flags are checked before any
// request. -http-addr points nowhere to prove it.
func TestFlagCombinationErrors(t *testing.T) {
	none := "-http-addr=127.0.0.1:1"
	cases := []struct {
		argv   []string
		stderr string
	}{
		{[]string{"keygen", "extra"}, "Too many arguments (expected 0, got 1)"},
		{[]string{"join", none}, "At least one address to join must be specified."},
		{[]string{"leave", none, "now"}, "Error found unexpected args: [now]"},
		{[]string{"force-leave", none}, "A single node name must be specified to force leave."},
		{[]string{"force-leave", none, "a", "b"}, "A single node name must be specified to force leave."},
		{[]string{"force-leave", none, "-wan", "a"}, "-wan is not supported"},
		{[]string{"keyring", none}, "Usage: beacon keyring"},
		{[]string{"keyring", none, "-list", "-install", "k"}, "Only a single action is allowed"},
		{[]string{"keyring", none, "-use", "k", "-remove", "j"}, "Only a single action is allowed"},
		{[]string{"keyring", none, "-list", "-relay-factor", "6"}, "relay factor must be in range: [0, 5]"},
		{[]string{"keyring", none, "-install", "k", "-local-only"}, "local-only can only be set for list queries"},
		{[]string{"keyring", none, "-list", "x"}, "Too many arguments"},
		{[]string{"snapshot", "save", none}, "Missing FILE argument"},
		{[]string{"snapshot", "save", none, "a", "b"}, "Too many arguments (expected 1, got 2)"},
		{[]string{"snapshot", "save", none, "-append-filename", "colour", "a.snap"}, `unknown part "colour"`},
		{[]string{"snapshot", "restore", none}, "Missing FILE argument"},
		{[]string{"snapshot", "restore", none, "missing.snap"}, "Error opening snapshot file"},
		{[]string{"snapshot", "inspect"}, "Missing FILE argument"},
		{[]string{"snapshot", "inspect", "a", "b"}, "Too many arguments (expected 1, got 2)"},
		{[]string{"snapshot", "inspect", "-format", "yaml", "a"}, "Unknown format: yaml"},
		{[]string{"snapshot", "inspect", "-kvdepth", "3", "a"}, "can only be used with -kvdetails"},
		{[]string{"snapshot", "inspect", "-kvfilter", "x/", "a"}, "can only be used with -kvdetails"},
		{[]string{"snapshot", "inspect", "-kvdetails", "-kvdepth", "0", "a"}, "must be at least 1"},
		{[]string{"snapshot", "inspect", "missing.snap"}, "Error opening snapshot file"},
		{[]string{"snapshot", "frob"}, `snapshot: unknown subcommand "frob"`},
		{[]string{"operator", "raft"}, "Usage: beacon operator raft <subcommand>"},
		{[]string{"operator", "raft", "list-peers", none, "x"}, "Too many arguments"},
		{[]string{"operator", "raft", "remove-peer", none}, "an address or id is required for the peer to remove"},
		{[]string{"operator", "raft", "remove-peer", none, "-id", "a", "-address", "1.2.3.4:8300"}, "cannot give both an address and id"},
		{[]string{"info", none, "x"}, "Too many arguments"},
		{[]string{"monitor", none, "x"}, "Too many arguments"},
		{[]string{"validate"}, "Must specify at least one config file or directory"},
		{[]string{"validate", "-config-format", "yaml", "x"}, `-config-format "yaml": must be json or hcl`},
		{[]string{"validate", "/does/not/exist"}, "Config validation failed: config: stat /does/not/exist"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.argv, " "), func(t *testing.T) {
			code, out, errOut := runArgs(append([]string{"beacon"}, tc.argv...)...)
			if code != 1 || out != "" || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, tc.stderr)
			}
		})
	}
}

func TestCommandsAgainstNoAgent(t *testing.T) {
	none := "-http-addr=127.0.0.1:1"
	for _, argv := range [][]string{
		{"join", none, "10.0.0.1"}, {"leave", none}, {"force-leave", none, "n"}, {"keyring", none, "-list"},
		{"snapshot", "save", none, t.TempDir() + "/s.snap"}, {"operator", "raft", "list-peers", none},
		{"operator", "raft", "remove-peer", none, "-id", "x"}, {"info", none}, {"monitor", none},
	} {
		code, _, errOut := runArgs(append([]string{"beacon"}, argv...)...)
		if code != 1 || !strings.Contains(errOut, "connection refused") {
			t.Errorf("%v: exit %d, stderr %q", argv, code, errOut)
		}
	}
}

func TestWriteKeyring(t *testing.T) {
	var b bytes.Buffer
	writeKeyring(&b, []*api.KeyringResponse{
		{WAN: true, Datacenter: "dc1", Keys: map[string]int{"b": 3}, NumNodes: 3},
		{Datacenter: "dc1", Keys: map[string]int{"b": 5, "a": 2}, NumNodes: 5, Messages: map[string]string{"n3": "key not installed"}},
		{Datacenter: "dc1", Segment: "alpha", Keys: map[string]int{}, NumNodes: 0},
	})
	want := "\nWAN:\n  b [3/3]\n" +
		"\ndc1 (LAN):\n  ===> n3: key not installed\n  a [2/5]\n  b [5/5]\n" +
		"\ndc1 (LAN) [alpha]:\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestWritePeers(t *testing.T) {
	servers := []*api.RaftServer{
		{ID: "id-1", Node: "s1", Address: "10.0.0.1:8300", Leader: true, Voter: true, ProtocolVersion: "3"},
		{ID: "id-2", Node: "s2", Address: "10.0.0.2:8300", Voter: true, ProtocolVersion: "3"},
		{ID: "id-3", Node: "s3", Address: "10.0.0.3:8300", Voter: false, ProtocolVersion: "3"},
		{ID: "id-4", Node: "old", Address: "10.0.0.4:8300", Voter: true},
	}
	health := []api.ServerHealth{{ID: "id-1", LastIndex: 100}, {ID: "id-2", LastIndex: 99}, {ID: "id-3", LastIndex: 90}}
	var b bytes.Buffer
	writePeers(&b, servers, health)
	want := "" +
		"Node  ID    Address        State     Voter  RaftProtocol  Commit Index  Trails Leader By\n" +
		"s1    id-1  10.0.0.1:8300  leader    true   3             100           _\n" +
		"s2    id-2  10.0.0.2:8300  follower  true   3             99            1 Commit\n" +
		"s3    id-3  10.0.0.3:8300  follower  false  3             90            10 Commits\n" +
		"old   id-4  10.0.0.4:8300  follower  true   <=1           _\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestInfoSections(t *testing.T) {
	stats := map[string]interface{}{
		"agent":  map[string]interface{}{"services": "2", "checks": "1"},
		"consul": map[string]interface{}{"server": "true", "leader": "true", "known_datacenters": "1", "acl": "enabled"},
		"bogus":  "not a section",
	}
	sections := statsSections(stats)
	r := role{server: true, leader: false, leaderAddr: "10.0.0.2:8300", conf: &api.RaftConfiguration{
		Index: 7, Servers: []*api.RaftServer{
			{ID: "a", Address: "10.0.0.1:8300", Voter: true},
			{ID: "b", Address: "10.0.0.2:8300", Voter: true, Leader: true},
			{ID: "c", Address: "10.0.0.3:8300"},
		}}}
	r.fill(sections)
	fillSerf(sections, []*api.AgentMember{
		{Status: 1, Tags: map[string]string{"role": "consul"}}, {Status: 4}, {Status: 3},
	}, true)
	fillBuild(sections, map[string]interface{}{"Version": "1.22.3", "Revision": "beacon"})
	var b bytes.Buffer
	writeInfo(&b, sections)
	want := "agent:\n\tchecks = 1\n\tservices = 2\n" +
		"build:\n\tprerelease = \n\trevision = beacon\n\tversion = 1.22.3\n\tversion_metadata = \n" +
		"consul:\n\tacl = enabled\n\tknown_datacenters = 1\n\tleader = false\n\tleader_addr = 10.0.0.2:8300\n\tserver = true\n" +
		"raft:\n\tlatest_configuration = [{Suffrage:Voter ID:a Address:10.0.0.1:8300} {Suffrage:Voter ID:b Address:10.0.0.2:8300} {Suffrage:Nonvoter ID:c Address:10.0.0.3:8300}]\n" +
		"\tlatest_configuration_index = 7\n\tnum_peers = 2\n\tprotocol_version = 3\n\tprotocol_version_max = 3\n\tprotocol_version_min = 0\n" +
		"\tsnapshot_version_max = 1\n\tsnapshot_version_min = 0\n\tstate = Follower\n" +
		"serf_lan:\n\tencrypted = true\n\tfailed = 1\n\thealth_score = 0\n\tleft = 1\n\tmembers = 3\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}

	// A client: never a leader, and it counts the servers it knows.
	client := statsSections(map[string]interface{}{"consul": map[string]interface{}{"server": "true", "leader": "true"}})
	role{}.fill(client)
	fillSerf(client, []*api.AgentMember{{Status: 1, Tags: map[string]string{"role": "consul"}}, {Status: 1}}, false)
	if c := client["consul"]; c["server"] != "false" || c["leader"] != "false" || c["known_servers"] != "1" || client["raft"] != nil {
		t.Errorf("client sections %v", client)
	}
}

func TestSnapshotInspectFormat(t *testing.T) {
	info := &snapshotInfo{Stats: []typeStats{{Name: "msg", Sum: 1, Count: 2}}, TotalSize: 1}
	info.Meta.ID, info.Meta.Size, info.Meta.Index, info.Meta.Term, info.Meta.Version = "one", 2, 3, 4, 1
	var b bytes.Buffer
	writeSnapshotInfo(&b, info, false)
	// Consul's own expected output for the same input.
	want := " ID           one\n Size         2\n Index        3\n Term         4\n Version      1\n\n" +
		" Type       Count      Size      \n ----       ----       ----      \n msg        2          1B        \n" +
		" ----       ----       ----      \n Total                 1B        \n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestInspectState(t *testing.T) {
	state := `{"Format":1,"Index":9}
{"t":"nodes","v":{"Node":"n1"}}
{"t":"kvs","v":{"Key":"app/web/a"}}
{"t":"kvs","v":{"Key":"app/web/b"}}
{"t":"kvs","v":{"Key":"app/db"}}
{"t":"kvs","v":{"Key":"other"}}
{"t":"future_table","v":{}}
`
	meta := snapshot.Meta{Index: 9, Term: 2, Format: 1, Created: time.UnixMilli(1604593650375)}
	info, err := inspectState(meta, []byte(state), &kvBreakdown{depth: 2, filter: "app/"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Meta.ID != "2-9-1604593650375" || info.Meta.Size != int64(len(state)) || info.Meta.Version != 1 {
		t.Errorf("meta %+v", info.Meta)
	}
	got := map[string]int{}
	for _, s := range info.Stats {
		got[s.Name] = s.Count
	}
	if got["KVS"] != 4 || got["Node"] != 1 || got["future_table"] != 1 || len(got) != 3 || info.Stats[0].Name != "KVS" {
		t.Errorf("stats %+v", info.Stats)
	}
	if len(info.StatsKV) != 2 || info.StatsKV[0].Name != "app/web" || info.StatsKV[0].Count != 2 || info.StatsKV[1].Name != "app/db" {
		t.Errorf("kv stats %+v", info.StatsKV)
	}
	if _, err := inspectState(meta, []byte("{not json\n"), nil); err == nil {
		t.Error("a damaged state was inspected")
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int]string{0: "0", 12: "12B", 1024: "1KB", 1536: "1.5KB", 12595: "12.3KB", 3 << 20: "3MB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCheckKeyringFlags(t *testing.T) {
	if err := checkKeyringFlags(false, "", "", "", 0, false); !errors.Is(err, errNoAction) {
		t.Errorf("no action: %v", err)
	}
	if err := checkKeyringFlags(true, "", "", "", 5, true); err != nil {
		t.Errorf("-list -relay-factor 5 -local-only: %v", err)
	}
}
