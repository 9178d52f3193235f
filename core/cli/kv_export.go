package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/outcome"
)

// kvEntry is one key of `kv export`'s JSON, as Consul writes it: the value
// base64-encoded.
type kvEntry struct {
	Key   string `json:"key"`
	Flags uint64 `json:"flags"`
	Value string `json:"value"`
	// Namespace and Partition are Consul Enterprise's; an export of
	// Consul's open-source edition leaves them out, and beacon has
	// neither, so import refuses an entry that sets them.
	Namespace string `json:"namespace,omitempty"`
	Partition string `json:"partition,omitempty"`
}

// kvExportCommand is `beacon kv export [options] [PREFIX]`.
func kvExportCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("kv export", "beacon kv export [options] [PREFIX]", `
Writes every key under PREFIX (the whole store without one) to standard
output as a JSON array of {"key", "flags", "value"} objects, values
base64-encoded: the format "beacon kv import" and "consul kv import" read.`, stderr)
	var hf httpFlags
	hf.register(fs)
	client, code := startClient(fs, args, &hf, 1)
	if client == nil {
		return code
	}
	pairs, _, err := client.KV().List(kvKey(fs.Arg(0)), hf.queryOptions())
	if err != nil {
		fmt.Fprintf(stderr, "Error querying agent: %s\n", err)
		return 1
	}
	out := make([]kvEntry, len(pairs))
	for i, p := range pairs {
		out[i] = kvEntry{Key: p.Key, Flags: p.Flags, Value: base64.StdEncoding.EncodeToString(p.Value)}
	}
	b, err := json.MarshalIndent(out, "", "\t")
	if err != nil {
		fmt.Fprintf(stderr, "Error exporting KV data: %s\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return 0
}

// kvImportCommand is `beacon kv import [options] DATA`.
func kvImportCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("kv import", "beacon kv import [options] DATA", `
Writes the keys of a "kv export" JSON array to the KV store. DATA "@FILE"
reads FILE, "-" standard input; anything else is the JSON itself. The whole
input is checked before the first key is written.`, stderr)
	var hf httpFlags
	hf.register(fs)
	prefix := fs.String("prefix", "", "Key prefix put before every imported key.")
	if code, ok := parseArgs(fs, args, 1); !ok {
		return code
	}
	pairs, err := kvImportPairs(fs.Arg(0), *prefix)
	if err != nil {
		fmt.Fprintf(stderr, "Error! %s\n", err)
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	for i, p := range pairs {
		_, err := client.KV().Put(p, nil)
		switch {
		case outcome.Of(err) == outcome.Unknown:
			fmt.Fprintf(stderr, "Error! The write of %s may or may not have been applied (read it back to find out); %d earlier keys were imported, %d later ones were not: %s\n",
				p.Key, i, len(pairs)-i-1, err)
			return 1
		case err != nil:
			fmt.Fprintf(stderr, "Error! Failed writing data for key %s; %d earlier keys were imported, it and %d later ones were not: %s\n",
				p.Key, i, len(pairs)-i-1, err)
			return 1
		}
		fmt.Fprintf(stdout, "Imported: %s\n", p.Key)
	}
	return 0
}

// kvImportPairs reads and checks DATA: every entry must have a key and a
// base64 value, and no field beacon would not keep.
func kvImportPairs(arg, prefix string) ([]*api.KVPair, error) {
	if arg == "" {
		return nil, errors.New("Missing DATA argument")
	}
	data, err := kvPutData(arg, false)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var entries []kvEntry
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("Cannot unmarshal data: %s (want the JSON array \"kv export\" writes)", err)
	}
	if dec.More() {
		return nil, errors.New("Cannot unmarshal data: more follows the JSON array")
	}
	pairs := make([]*api.KVPair, 0, len(entries))
	for i, e := range entries {
		switch {
		case e.Key == "":
			return nil, fmt.Errorf("entry %d has no key", i+1)
		case e.Namespace != "" || e.Partition != "":
			return nil, fmt.Errorf("key %s: namespaces and admin partitions are Consul Enterprise features that beacon does not have", e.Key)
		}
		value, err := base64.StdEncoding.DecodeString(e.Value)
		if err != nil {
			return nil, fmt.Errorf("Error base 64 decoding value for key %s: %s", e.Key, err)
		}
		// The key as exported, under the prefix: not cleaned as a path,
		// so "a//b" and "dir/" come back as they were.
		key := kvKey(e.Key)
		if prefix != "" {
			key = strings.TrimSuffix(prefix, "/") + "/" + key
		}
		pairs = append(pairs, &api.KVPair{Key: kvKey(key), Flags: e.Flags, Value: value})
	}
	return pairs, nil
}
