package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/beacon-sd/beacon/core/snapshot"
)

// snapshotInspectCommand is `beacon snapshot inspect FILE`: reads a
// snapshot file offline, checksums included, and describes it.
func snapshotInspectCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("snapshot inspect", "beacon snapshot inspect [options] FILE", `
Displays information about a snapshot file on disk: its ID, size, index,
term and format version, and the count and size of each kind of record in
it. The file's checksums are verified; a damaged file is an error.`, stderr)
	format := fs.String("format", "pretty", "Output format: pretty or json.")
	kvDetails := fs.Bool("kvdetails", false, "Also break the KV entries down by key prefix.")
	kvDepth := fs.Int("kvdepth", 2, "With -kvdetails: the number of key segments to group by.")
	kvFilter := fs.String("kvfilter", "", "With -kvdetails: only keys with this prefix.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	file, ok := fileArg(fs, stderr)
	if !ok {
		return 1
	}
	if *format != "pretty" && *format != "json" {
		fmt.Fprintf(stderr, "Error outputting enhanced snapshot data: Unknown format: %s\n", *format)
		return 1
	}
	if !*kvDetails && (flagWasSet(fs, "kvdepth") || flagWasSet(fs, "kvfilter")) {
		fmt.Fprintln(stderr, "-kvdepth and -kvfilter can only be used with -kvdetails")
		return 1
	}
	if *kvDepth < 1 {
		fmt.Fprintf(stderr, "-kvdepth %d: must be at least 1\n", *kvDepth)
		return 1
	}
	f, err := os.Open(file)
	if err != nil {
		fmt.Fprintf(stderr, "Error opening snapshot file: %s\n", err)
		return 1
	}
	meta, state, err := snapshot.Read(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "Error reading snapshot: %s\n", err)
		return 1
	}
	var kv *kvBreakdown
	if *kvDetails {
		kv = &kvBreakdown{depth: *kvDepth, filter: *kvFilter}
	}
	info, err := inspectState(meta, state, kv)
	if err != nil {
		fmt.Fprintf(stderr, "Error extracting snapshot data: %s\n", err)
		return 1
	}
	if *format == "json" {
		b, _ := json.MarshalIndent(info, "", "   ")
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	writeSnapshotInfo(stdout, info, *kvDetails)
	return 0
}

// snapshotInfo is what inspect reports, in the shape of Consul's -format
// json output.
type snapshotInfo struct {
	Meta struct {
		ID      string
		Size    int64
		Index   uint64
		Term    uint64
		Version int
	}
	Stats       []typeStats
	StatsKV     []typeStats `json:",omitempty"`
	TotalSize   int
	TotalSizeKV int `json:",omitempty"`
}

// typeStats counts the records of one kind and their bytes.
type typeStats struct {
	Name  string
	Sum   int
	Count int
}

// recordNames names the store's tables as Consul names its record types
// where there is a counterpart.
var recordNames = map[string]string{
	"nodes": "Node", "services": "Service", "checks": "Check", "kvs": "KVS",
	"tombstones": "Tombstone", "sessions": "Session", "session_checks": "SessionCheck",
	"index": "Index", "requests": "Request",
	"connect_ca_roots": "ConnectCA", "connect_ca_config": "ConnectCAConfig",
}

// kvBreakdown groups KV records by their first depth key segments.
type kvBreakdown struct {
	depth  int
	filter string
	stats  map[string]*typeStats
	total  int
}

func (k *kvBreakdown) add(raw json.RawMessage, size int) {
	var e struct{ Key string }
	if json.Unmarshal(raw, &e) != nil || !strings.HasPrefix(e.Key, k.filter) {
		return
	}
	parts := strings.Split(e.Key, "/")
	prefix := strings.Join(parts[:min(k.depth, len(parts))], "/")
	if k.stats == nil {
		k.stats = map[string]*typeStats{}
	}
	s := k.stats[prefix]
	if s == nil {
		s = &typeStats{Name: prefix}
		k.stats[prefix] = s
	}
	s.Count++
	s.Sum += size
	k.total += size
}

// inspectState counts the rows of a snapshot's state by kind.
func inspectState(meta snapshot.Meta, state []byte, kv *kvBreakdown) (*snapshotInfo, error) {
	info := &snapshotInfo{}
	info.Meta.ID = fmt.Sprintf("%d-%d-%d", meta.Term, meta.Index, meta.Created.UnixMilli())
	info.Meta.Size = int64(len(state))
	info.Meta.Index, info.Meta.Term, info.Meta.Version = meta.Index, meta.Term, meta.Format
	byType := map[string]*typeStats{}
	sc := bufio.NewScanner(bytes.NewReader(state))
	sc.Buffer(make([]byte, 64<<10), len(state)+1)
	for n := 0; sc.Scan(); n++ {
		var row struct {
			T string          `json:"t"`
			V json.RawMessage `json:"v"`
		}
		line := sc.Bytes()
		if err := json.Unmarshal(line, &row); err != nil {
			return nil, fmt.Errorf("record %d: %w", n+1, err)
		}
		if row.T == "" {
			continue // the stream's header
		}
		name := recordNames[row.T]
		if name == "" {
			name = row.T
		}
		s := byType[name]
		if s == nil {
			s = &typeStats{Name: name}
			byType[name] = s
		}
		size := len(line) + 1
		s.Count++
		s.Sum += size
		info.TotalSize += size
		if kv != nil && row.T == "kvs" {
			kv.add(row.V, size)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	info.Stats = sortStats(byType)
	if kv != nil {
		info.StatsKV, info.TotalSizeKV = sortStats(kv.stats), kv.total
	}
	return info, nil
}

// sortStats orders by size, largest first, then by name.
func sortStats(m map[string]*typeStats) []typeStats {
	out := make([]typeStats, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Sum != out[j].Sum {
			return out[i].Sum > out[j].Sum
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// writeSnapshotInfo prints the tables of `consul snapshot inspect`.
func writeSnapshotInfo(w io.Writer, info *snapshotInfo, kvDetails bool) {
	tw := tabwriter.NewWriter(w, 8, 8, 6, ' ', 0)
	fmt.Fprintf(tw, " ID\t%s\n", info.Meta.ID)
	fmt.Fprintf(tw, " Size\t%d\n", info.Meta.Size)
	fmt.Fprintf(tw, " Index\t%d\n", info.Meta.Index)
	fmt.Fprintf(tw, " Term\t%d\n", info.Meta.Term)
	fmt.Fprintf(tw, " Version\t%d\n\n", info.Meta.Version)
	writeStatsTable(tw, "Type", info.Stats, info.TotalSize)
	tw.Flush()
	if kvDetails {
		fmt.Fprintln(w)
		kw := tabwriter.NewWriter(w, 8, 8, 6, ' ', 0)
		writeStatsTable(kw, "Key Name", info.StatsKV, info.TotalSizeKV)
		kw.Flush()
	}
}

func writeStatsTable(tw io.Writer, title string, stats []typeStats, total int) {
	fmt.Fprintf(tw, " %s\tCount\tSize\t\n", title)
	fmt.Fprintf(tw, " ----\t----\t----\t\n")
	for _, s := range stats {
		fmt.Fprintf(tw, " %s\t%d\t%s\t\n", s.Name, s.Count, byteSize(s.Sum))
	}
	fmt.Fprintf(tw, " ----\t----\t----\t\n")
	fmt.Fprintf(tw, " Total\t\t%s\t\n", byteSize(total))
}

// byteSize writes a size as Consul does: 0, 12B, 1.5KB, 2MB.
func byteSize(n int) string {
	if n == 0 {
		return "0"
	}
	units := []string{"B", "KB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + units[i]
}
