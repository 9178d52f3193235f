package cli

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"
)

// keyringCommand is `beacon keyring -list | -install KEY | -use KEY |
// -remove KEY`: examines and rotates the gossip encryption keys.
func keyringCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("keyring", "beacon keyring [options]", `
Manages the encryption keys of gossip messages. With gossip encryption on,
rotate the key without downtime: -install the new key everywhere, -use it as
the primary, then -remove the old one. Exactly one action is allowed per run.
Exits 0 when every member answered without error, 1 otherwise.`, stderr)
	var hf httpFlags
	hf.register(fs)
	install := fs.String("install", "", "Install a new encryption `key` on every member.")
	use := fs.String("use", "", "Make an installed `key` the primary, the one that encrypts.")
	remove := fs.String("remove", "", "Remove a `key` that is not the primary.")
	list := fs.Bool("list", false, "List the keys installed in the cluster and on how many members.")
	relay := fs.Int("relay-factor", 0, "Relay each member's answer through this many other members (0 to 5).")
	localOnly := fs.Bool("local-only", false, "With -list: ask only this datacenter's servers.")
	if code, ok := parseArgs(fs, args, 0); !ok {
		return code
	}
	if err := checkKeyringFlags(*list, *install, *use, *remove, *relay, *localOnly); err != nil {
		if err == errNoAction {
			fs.Usage()
		} else {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	op := client.Operator()
	wo := &api.WriteOptions{RelayFactor: uint8(*relay)}
	var err error
	switch {
	case *list:
		fmt.Fprintln(stdout, "==> Gathering installed encryption keys...")
		var pools []*api.KeyringResponse
		pools, err = op.KeyringList(&api.QueryOptions{RelayFactor: uint8(*relay), LocalOnly: *localOnly})
		if err == nil {
			writeKeyring(stdout, pools)
		}
	case *install != "":
		fmt.Fprintln(stdout, "==> Installing new gossip encryption key...")
		err = op.KeyringInstall(*install, wo)
	case *use != "":
		fmt.Fprintln(stdout, "==> Changing primary gossip encryption key...")
		err = op.KeyringUse(*use, wo)
	default:
		fmt.Fprintln(stdout, "==> Removing gossip encryption key...")
		err = op.KeyringRemove(*remove, wo)
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return 1
	}
	return 0
}

// errNoAction asks for the usage text: no action flag was given.
var errNoAction = errors.New("no action given")

// checkKeyringFlags refuses what Consul refuses: no action or several, a
// relay factor out of range, -local-only on a change.
func checkKeyringFlags(list bool, install, use, remove string, relay int, localOnly bool) error {
	n := 0
	if list {
		n++
	}
	for _, k := range []string{install, use, remove} {
		if k != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return errNoAction
	case n > 1:
		return fmt.Errorf("Only a single action is allowed")
	case relay < 0 || relay > 5:
		return fmt.Errorf("Error parsing relay factor: relay factor must be in range: [0, 5]")
	case localOnly && !list:
		return fmt.Errorf("Error validating local-only: local-only can only be set for list queries")
	}
	return nil
}

// writeKeyring prints each pool's keys with the count of members that hold
// them, as `consul keyring -list` does.
func writeKeyring(w io.Writer, pools []*api.KeyringResponse) {
	for _, p := range pools {
		name := p.Datacenter + " (LAN)"
		if p.WAN {
			name = "WAN"
		}
		switch {
		case p.Segment != "":
			name += " [" + p.Segment + "]"
		case p.Partition != "" && p.Partition != "default":
			name += " [partition: " + p.Partition + "]"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "\n%s:\n", name)
		for _, from := range sortedKeys(p.Messages) {
			fmt.Fprintf(&b, "  ===> %s: %s\n", from, p.Messages[from])
		}
		keys := make([]string, 0, len(p.Keys))
		for k := range p.Keys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s [%d/%d]\n", k, p.Keys[k], p.NumNodes)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), "\n"))
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
