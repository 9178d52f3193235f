package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/snapshot"
)

// snapshotCommands are the subcommands of `beacon snapshot`.
var snapshotCommands = map[string]command{
	"save":    {"Saves a snapshot of the servers' state", snapshotSaveCommand},
	"restore": {"Restores a snapshot into the cluster", snapshotRestoreCommand},
	"inspect": {"Displays information about a snapshot file", snapshotInspectCommand},
}

// snapshotCommand is `beacon snapshot <subcommand>`.
func snapshotCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("snapshot", snapshotCommands, args, stdout, stderr)
}

// fileArg returns the single FILE argument, or reports its absence.
func fileArg(fs interface{ Args() []string }, stderr io.Writer) (string, bool) {
	switch args := fs.Args(); len(args) {
	case 0:
		fmt.Fprintln(stderr, "Missing FILE argument")
	case 1:
		return args[0], true
	default:
		fmt.Fprintf(stderr, "Too many arguments (expected 1, got %d)\n", len(args))
	}
	return "", false
}

// snapshotSaveCommand is `beacon snapshot save [-stale] FILE`.
func snapshotSaveCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("snapshot save", "beacon snapshot save [options] FILE", `
Saves an atomic, point-in-time snapshot of the servers' state (KV entries,
the catalog, sessions) to FILE. The file is written beside FILE, verified,
and only then renamed into place, so FILE is either the old file or a whole
new snapshot. -stale lets any server answer when there is no leader.`, stderr)
	var hf httpFlags
	hf.register(fs)
	var appendName stringList
	fs.Var(&appendName, "append-filename", "Append to FILE's name (before its extension) any of: version, dc, node, status (leader or follower); comma-separated.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	file, ok := fileArg(fs, stderr)
	if !ok {
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	if len(appendName) > 0 {
		var err error
		if file, err = appendFilename(client, file, strings.Split(appendName.String(), ",")); err != nil {
			fmt.Fprintf(stderr, "Error connecting to agent and fetching datacenter/version: %s\n", err)
			return 1
		}
	}
	snap, qm, err := client.Snapshot().Save(hf.queryOptions())
	if err != nil {
		fmt.Fprintf(stderr, "Error saving snapshot: %s\n", err)
		return 1
	}
	defer snap.Close()
	meta, err := writeVerified(file, snap)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	index := qm.LastIndex
	if index == 0 {
		index = meta.Index
	}
	fmt.Fprintf(stdout, "Saved and verified snapshot to index %d\n", index)
	return 0
}

// appendFilename adds to file's name, before its extension, the parts
// -append-filename asks for, in Consul's order: version, dc, node, status.
func appendFilename(client *api.Client, file string, parts []string) (string, error) {
	want := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		switch p {
		case "version", "dc", "node", "status":
			want[p] = true
		default:
			return "", fmt.Errorf("-append-filename: unknown part %q (want version, dc, node or status)", p)
		}
	}
	self, err := client.Agent().Self()
	if err != nil {
		return "", err
	}
	ext := filepath.Ext(file)
	name := strings.TrimSuffix(file, ext)
	for _, p := range []struct{ part, key string }{{"version", "Version"}, {"dc", "Datacenter"}, {"node", "NodeName"}} {
		if want[p.part] {
			name += "-" + str(self["Config"][p.key])
		}
	}
	if want["status"] {
		role, err := agentRole(client, self)
		if err != nil {
			return "", err
		}
		if role.leader {
			name += "-leader"
		} else {
			name += "-follower"
		}
	}
	return name + ext, nil
}

func str(v interface{}) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// writeVerified writes an archive beside file, reads it back to check it,
// and renames it over file.
func writeVerified(file string, r io.Reader) (snapshot.Meta, error) {
	var meta snapshot.Meta
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, filepath.Base(file)+".*.unverified")
	if err != nil {
		return meta, fmt.Errorf("Error writing unverified snapshot file: %s", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return meta, fmt.Errorf("Error writing unverified snapshot file: %s", err)
	}
	f, err := os.Open(tmp.Name())
	if err != nil {
		return meta, fmt.Errorf("Error opening snapshot file for verify: %s", err)
	}
	meta, _, err = snapshot.Verify(f, nil)
	f.Close()
	if err != nil {
		return meta, fmt.Errorf("Error verifying snapshot file: %s", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return meta, fmt.Errorf("Error writing unverified snapshot file: %s", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return meta, fmt.Errorf("Error renaming %q to %q: %v", tmp.Name(), file, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable
		d.Close()
	}
	return meta, nil
}

// snapshotRestoreCommand is `beacon snapshot restore FILE`.
func snapshotRestoreCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("snapshot restore", "beacon snapshot restore [options] FILE", `
Restores a snapshot taken with "beacon snapshot save" into the cluster: the
servers' whole state is replaced by the snapshot's, on every server. The file
is checked before anything is replaced.`, stderr)
	var hf httpFlags
	hf.register(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	file, ok := fileArg(fs, stderr)
	if !ok {
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	f, err := os.Open(file)
	if err != nil {
		fmt.Fprintf(stderr, "Error opening snapshot file: %s\n", err)
		return 1
	}
	defer f.Close()
	if err := client.Snapshot().Restore(nil, f); err != nil {
		fmt.Fprintf(stderr, "Error restoring snapshot: %s\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Restored snapshot")
	return 0
}
