package cli

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/outcome"
)

// stdin is what `kv put KEY -` reads; tests replace it.
var stdin io.Reader = os.Stdin

var kvCommands = map[string]command{
	"get":    {"Retrieves or lists data from the KV store", kvGetCommand},
	"put":    {"Sets or updates data in the KV store", kvPutCommand},
	"delete": {"Removes data from the KV store", kvDeleteCommand},
	"export": {"Exports a tree from the KV store as JSON", kvExportCommand},
	"import": {"Imports a tree stored as JSON to the KV store", kvImportCommand},
}

// kvCommand is `beacon kv <get|put|delete|export|import>`.
func kvCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("kv", kvCommands, args, stdout, stderr)
}

// kvKey strips the leading slash users often type: KV keys never start
// with one.
func kvKey(k string) string { return strings.TrimPrefix(k, "/") }

// kvGetCommand is `beacon kv get [options] [KEY_OR_PREFIX]`.
func kvGetCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("kv get", "beacon kv get [options] [KEY_OR_PREFIX]", `
Retrieves the value of KEY from the KV store; with -recurse every key under
the prefix, with -keys only the key names.`, stderr)
	var hf httpFlags
	hf.register(fs)
	recurse := fs.Bool("recurse", false, "Read every key under the given prefix, printing key:value lines.")
	keys := fs.Bool("keys", false, "List key names under the prefix, grouped up to -separator.")
	separator := fs.String("separator", "/", "Separator at which -keys groups names; empty lists every key.")
	detailed := fs.Bool("detailed", false, "Print the key's metadata as well as its value.")
	b64 := fs.Bool("base64", false, "Print values base64-encoded.")
	if code, ok := parseArgs(fs, args, 1); !ok {
		return code
	}
	key := kvKey(fs.Arg(0))
	if key == "" && !*recurse && !*keys {
		fmt.Fprintln(stderr, "Error! Missing KEY argument")
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	kv := client.KV()
	q := hf.queryOptions()
	switch {
	case *keys:
		names, _, err := kv.Keys(key, *separator, q)
		if err != nil {
			fmt.Fprintf(stderr, "Error querying agent: %s\n", err)
			return 1
		}
		for _, n := range names {
			fmt.Fprintln(stdout, n)
		}
	case *recurse:
		pairs, _, err := kv.List(key, q)
		if err != nil {
			fmt.Fprintf(stderr, "Error querying agent: %s\n", err)
			return 1
		}
		for i, p := range pairs {
			if *detailed {
				if i > 0 {
					fmt.Fprintln(stdout)
				}
				writeKVDetailed(stdout, p, *b64)
				continue
			}
			fmt.Fprintf(stdout, "%s:%s\n", p.Key, kvValue(p, *b64))
		}
	default:
		pair, _, err := kv.Get(key, q)
		if err != nil {
			fmt.Fprintf(stderr, "Error querying agent: %s\n", err)
			return 1
		}
		if pair == nil {
			fmt.Fprintf(stderr, "Error! No key exists at: %s\n", key)
			return 1
		}
		if *detailed {
			writeKVDetailed(stdout, pair, *b64)
		} else {
			fmt.Fprintln(stdout, kvValue(pair, *b64))
		}
	}
	return 0
}

func kvValue(p *api.KVPair, b64 bool) string {
	if b64 {
		return base64.StdEncoding.EncodeToString(p.Value)
	}
	return string(p.Value)
}

// writeKVDetailed prints a pair's metadata as an aligned two-column list.
func writeKVDetailed(w io.Writer, p *api.KVPair, b64 bool) {
	session := p.Session
	if session == "" {
		session = "-"
	}
	tw := tabwriter.NewWriter(w, 0, 2, 6, ' ', 0)
	fmt.Fprintf(tw, "CreateIndex\t%d\n", p.CreateIndex)
	fmt.Fprintf(tw, "Flags\t%d\n", p.Flags)
	fmt.Fprintf(tw, "Key\t%s\n", p.Key)
	fmt.Fprintf(tw, "LockIndex\t%d\n", p.LockIndex)
	fmt.Fprintf(tw, "ModifyIndex\t%d\n", p.ModifyIndex)
	fmt.Fprintf(tw, "Session\t%s\n", session)
	fmt.Fprintf(tw, "Value\t%s\n", kvValue(p, b64))
	tw.Flush()
}

// kvPutCommand is `beacon kv put [options] KEY [VALUE]`.
func kvPutCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("kv put", "beacon kv put [options] KEY [DATA]", `
Writes DATA to KEY in the KV store. DATA "-" reads standard input, "@FILE"
reads FILE; without DATA the value is empty.`, stderr)
	var hf httpFlags
	hf.register(fs)
	flags := fs.Uint64("flags", 0, "Unsigned integer stored with the key for the application's use.")
	cas := fs.Bool("cas", false, "Check-and-set: write only if the key's modify index equals -modify-index (0: only if absent).")
	modifyIndex := fs.Uint64("modify-index", 0, "Modify index the key must have, for -cas.")
	acquire := fs.Bool("acquire", false, "Obtain a lock on the key for -session; fails if another session holds it.")
	release := fs.Bool("release", false, "Release -session's lock on the key.")
	session := fs.String("session", "", "Session ID for -acquire and -release.")
	b64 := fs.Bool("base64", false, "DATA is base64-encoded; decode it before writing.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "Error! Missing KEY argument")
		return 1
	}
	if fs.NArg() > 2 {
		fmt.Fprintf(stderr, "Too many arguments (expected 1 or 2, got %d)\n", fs.NArg())
		return 1
	}
	key := kvKey(fs.Arg(0))
	if key == "" {
		fmt.Fprintln(stderr, "Error! Missing KEY argument")
		return 1
	}
	modes := 0
	for _, on := range []bool{*cas, *acquire, *release} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		fmt.Fprintln(stderr, "Error! Only one of -cas, -acquire and -release may be given")
		return 1
	case *cas && !flagWasSet(fs, "modify-index"):
		fmt.Fprintln(stderr, "Error! -cas needs -modify-index")
		return 1
	case !*cas && flagWasSet(fs, "modify-index"):
		fmt.Fprintln(stderr, "Error! -modify-index is only used with -cas")
		return 1
	case (*acquire || *release) && *session == "":
		fmt.Fprintln(stderr, "Error! Missing -session (required with -acquire and -release)")
		return 1
	}
	value, err := kvPutData(fs.Arg(1), *b64)
	if err != nil {
		fmt.Fprintf(stderr, "Error! %s\n", err)
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	pair := &api.KVPair{Key: key, Value: value, Flags: *flags, ModifyIndex: *modifyIndex, Session: *session}
	kv := client.KV()
	var w kvWrite
	switch {
	case *cas:
		w = kvWrite{
			call:    func() (bool, error) { return conditional(kv.CAS(pair, nil)) },
			failed:  "Error! Did not write to " + key,
			refused: "Error! Did not write to " + key + ": CAS failed",
			done:    "Success! Data written to: " + key,
		}
	case *acquire:
		w = kvWrite{
			call:    func() (bool, error) { return conditional(kv.Acquire(pair, nil)) },
			failed:  "Error! Failed writing data",
			refused: "Error! Did not acquire lock on: " + key,
			done:    "Success! Lock acquired on: " + key,
		}
	case *release:
		w = kvWrite{
			call:    func() (bool, error) { return conditional(kv.Release(pair, nil)) },
			failed:  "Error! Failed writing data",
			refused: "Error! Did not release lock on: " + key,
			done:    "Success! Lock released on: " + key,
		}
	default:
		w = kvWrite{
			call:   func() (bool, error) { return unconditional(kv.Put(pair, nil)) },
			failed: "Error! Failed writing data",
			done:   "Success! Data written to: " + key,
		}
	}
	w.key = key
	return w.run(stdout, stderr)
}

// kvWrite is the one change `kv put` or `kv delete` makes to the store, and
// what it reports: failed comes before the error of a write that was not
// applied, refused is the message when the call returns false and done the
// one on success. A write whose outcome the error leaves open is reported
// as such, with the key to read back.
type kvWrite struct {
	call                  func() (ok bool, err error)
	key                   string
	failed, refused, done string
}

// run makes the write and reports how it went; it returns the exit code.
func (w kvWrite) run(stdout, stderr io.Writer) int {
	ok, err := w.call()
	if outcome.Of(err) == outcome.Unknown {
		fmt.Fprintf(stderr, "Error! The change to %s may or may not have been applied (read it back to find out): %s\n", w.key, err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", w.failed, err)
		return 1
	}
	if !ok {
		fmt.Fprintln(stderr, w.refused)
		return 1
	}
	fmt.Fprintln(stdout, w.done)
	return 0
}

// conditional and unconditional give a kvWrite's call the results of an API
// write that the store may refuse (CAS, lock) and of one it may not.
func conditional(ok bool, _ *api.WriteMeta, err error) (bool, error) { return ok, err }

func unconditional(_ *api.WriteMeta, err error) (bool, error) { return true, err }

// kvPutData resolves the DATA argument: "-" is standard input, "@FILE" the
// file's contents, anything else itself; b64 decodes the result.
func kvPutData(arg string, b64 bool) ([]byte, error) {
	var data []byte
	switch {
	case arg == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		data = b
	case strings.HasPrefix(arg, "@"):
		b, err := os.ReadFile(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("reading data file: %w", err)
		}
		data = b
	default:
		data = []byte(arg)
	}
	if !b64 {
		return data, nil
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("cannot base64-decode data: %w", err)
	}
	return dec, nil
}

// kvDeleteCommand is `beacon kv delete [options] KEY_OR_PREFIX`.
func kvDeleteCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("kv delete", "beacon kv delete [options] KEY_OR_PREFIX", `
Removes KEY from the KV store, or with -recurse every key under the prefix.`, stderr)
	var hf httpFlags
	hf.register(fs)
	recurse := fs.Bool("recurse", false, "Delete every key under the given prefix.")
	cas := fs.Bool("cas", false, "Check-and-set: delete only if the key's modify index equals -modify-index.")
	modifyIndex := fs.Uint64("modify-index", 0, "Modify index the key must have, for -cas.")
	if code, ok := parseArgs(fs, args, 1); !ok {
		return code
	}
	key := kvKey(fs.Arg(0))
	if err := kvDeleteCheck(key, *recurse, *cas, flagWasSet(fs, "modify-index")); err != nil {
		fmt.Fprintf(stderr, "Error! %s\n", err)
		return 1
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	kv := client.KV()
	var w kvWrite
	switch {
	case *recurse:
		w = kvWrite{
			call:   func() (bool, error) { return unconditional(kv.DeleteTree(key, nil)) },
			failed: "Error! Did not delete prefix " + key,
			done:   "Success! Deleted keys with prefix: " + key,
		}
	case *cas:
		pair := &api.KVPair{Key: key, ModifyIndex: *modifyIndex}
		w = kvWrite{
			call:    func() (bool, error) { return conditional(kv.DeleteCAS(pair, nil)) },
			failed:  "Error! Did not delete key " + key,
			refused: "Error! Did not delete key " + key + ": CAS failed",
			done:    "Success! Deleted key: " + key,
		}
	default:
		w = kvWrite{
			call:   func() (bool, error) { return unconditional(kv.Delete(key, nil)) },
			failed: "Error! Did not delete key " + key,
			done:   "Success! Deleted key: " + key,
		}
	}
	w.key = key
	return w.run(stdout, stderr)
}

// kvDeleteCheck rejects flag combinations that `kv delete` cannot honour.
func kvDeleteCheck(key string, recurse, cas, indexSet bool) error {
	switch {
	case recurse && cas:
		return errors.New("cannot combine -cas and -recurse")
	case cas && !indexSet:
		return errors.New("-cas needs -modify-index")
	case !cas && indexSet:
		return errors.New("-modify-index is only used with -cas")
	case key == "" && !recurse:
		return errors.New("Missing KEY argument")
	}
	return nil
}
