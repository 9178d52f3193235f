package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"
)

// operatorCommands are the subcommands of `beacon operator`.
var operatorCommands = map[string]command{
	"raft": {"Provides cluster-level tools for the raft peer set", operatorRaftCommand},
}

// raftCommands are the subcommands of `beacon operator raft`.
var raftCommands = map[string]command{
	"list-peers":  {"Displays the current raft peer configuration", raftListPeersCommand},
	"remove-peer": {"Removes a server from the raft configuration", raftRemovePeerCommand},
}

// operatorCommand is `beacon operator <subcommand>`.
func operatorCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("operator", operatorCommands, args, stdout, stderr)
}

func operatorRaftCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("operator raft", raftCommands, args, stdout, stderr)
}

// raftListPeersCommand is `beacon operator raft list-peers [-stale]`.
func raftListPeersCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("operator raft list-peers", "beacon operator raft list-peers [options]", `
Displays the current raft peer configuration: each server, its state
(leader or follower), whether it votes, its last committed index and how far
it trails the leader.`, stderr)
	var hf httpFlags
	hf.register(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	q := hf.queryOptions()
	conf, err := client.Operator().RaftGetConfiguration(q)
	if err != nil {
		fmt.Fprintf(stderr, "Error getting peers: Failed to retrieve raft configuration: %v\n", err)
		return 1
	}
	// Autopilot's view only adds the index columns: without it the
	// peers are still worth showing.
	var health []api.ServerHealth
	if h, err := client.Operator().AutopilotServerHealth(q); err == nil {
		health = h.Servers
	}
	writePeers(stdout, conf.Servers, health)
	return 0
}

// writePeers prints the peer table as `consul operator raft list-peers`
// does; a server autopilot knows nothing of gets "_" for its index.
func writePeers(w io.Writer, servers []*api.RaftServer, health []api.ServerHealth) {
	byID := map[string]api.ServerHealth{}
	var leaderIndex uint64
	for _, h := range health {
		byID[h.ID] = h
	}
	for _, s := range servers {
		if h, ok := byID[s.ID]; ok && s.Leader {
			leaderIndex = h.LastIndex
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tID\tAddress\tState\tVoter\tRaftProtocol\tCommit Index\tTrails Leader By")
	for _, s := range servers {
		proto := s.ProtocolVersion
		if proto == "" {
			proto = "<=1"
		}
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		h, ok := byID[s.ID]
		if !ok {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t_\n", s.Node, s.ID, s.Address, state, s.Voter, proto)
			continue
		}
		trails := "_"
		if !s.Leader {
			n := uint64(0)
			if leaderIndex > h.LastIndex {
				n = leaderIndex - h.LastIndex
			}
			trails = fmt.Sprintf("%d Commits", n)
			if n <= 1 {
				trails = fmt.Sprintf("%d Commit", n)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%d\t%s\n", s.Node, s.ID, s.Address, state, s.Voter, proto, h.LastIndex, trails)
	}
	tw.Flush()
}

// raftRemovePeerCommand is `beacon operator raft remove-peer -address=IP:port
// | -id=ID`.
func raftRemovePeerCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("operator raft remove-peer", "beacon operator raft remove-peer [options]", `
Removes a server from the raft configuration, by -address or -id. This is
for a server left behind in the peer set although it is gone for good; while
it still shows in "beacon members", "beacon force-leave" is the better way.`, stderr)
	var hf httpFlags
	hf.register(fs)
	address := fs.String("address", "", "The `IP:port` of the server to remove, as list-peers shows it.")
	id := fs.String("id", "", "The raft `ID` of the server to remove.")
	if code, ok := parseArgs(fs, args, 0); !ok {
		return code
	}
	switch {
	case *address == "" && *id == "":
		fmt.Fprintln(stderr, "Error removing peer: an address or id is required for the peer to remove")
		return 1
	case *address != "" && *id != "":
		fmt.Fprintln(stderr, "Error removing peer: cannot give both an address and id")
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	var err error
	if *address != "" {
		err = client.Operator().RaftRemovePeerByAddress(*address, nil)
	} else {
		err = client.Operator().RaftRemovePeerByID(*id, nil)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error removing peer: %v\n", err)
		return 1
	}
	if *address != "" {
		fmt.Fprintf(stdout, "Removed peer with address %q\n", *address)
	} else {
		fmt.Fprintf(stdout, "Removed peer with id %q\n", *id)
	}
	return 0
}
