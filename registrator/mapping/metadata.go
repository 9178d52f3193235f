package mapping

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// prefix starts every key the registrator reads from env vars and labels.
const prefix = "SERVICE_"

// entry is one SERVICE_* setting: its value and the key it was written as,
// for log lines that name it.
type entry struct {
	value  string
	key    string
	byPort bool // from SERVICE_<port>_<name>
}

// metadata is a container's SERVICE_* settings: those for every port and
// those for one port, keyed by lower-case name ("name", "check_http").
type metadata struct {
	general map[string]entry
	perPort map[string]map[string]entry
}

// readMetadata collects the SERVICE_* keys of a container's env vars and
// labels; a label wins over an env var of the same key. Keys whose port
// part is not a port number are returned as problems.
func readMetadata(cfg *container.Config) (metadata, []Problem) {
	md := metadata{general: map[string]entry{}, perPort: map[string]map[string]entry{}}
	var problems []Problem
	add := func(key, value string) {
		if p := md.add(key, value); p != nil {
			problems = append(problems, *p)
		}
	}
	if cfg == nil {
		return md, nil
	}
	for _, kv := range cfg.Env {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			add(k, v)
		}
	}
	labels := make([]string, 0, len(cfg.Labels))
	for k := range cfg.Labels {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	for _, k := range labels {
		add(k, cfg.Labels[k])
	}
	return md, problems
}

// add records one key; it returns a problem for a malformed port key.
func (md metadata) add(key, value string) *Problem {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok || rest == "" {
		return nil
	}
	if rest[0] < '0' || rest[0] > '9' {
		md.general[strings.ToLower(rest)] = entry{value: value, key: key}
		return nil
	}
	port, name, _ := strings.Cut(rest, "_")
	n, err := strconv.Atoi(port)
	switch {
	case err != nil:
		return &Problem{Key: key, Reason: fmt.Sprintf("%q is not a port number", port)}
	case n < 1 || n > 65535:
		return &Problem{Key: key, Reason: fmt.Sprintf("port %d is out of range", n)}
	case name == "":
		return &Problem{Key: key, Reason: "nothing follows the port number"}
	}
	port = strconv.Itoa(n)
	if md.perPort[port] == nil {
		md.perPort[port] = map[string]entry{}
	}
	md.perPort[port][strings.ToLower(name)] = entry{value: value, key: key, byPort: true}
	return nil
}

// forPort is the settings that apply to one exposed port: the port's own
// keys win over the keys for every port.
func (md metadata) forPort(port string) map[string]entry {
	out := make(map[string]entry, len(md.general)+len(md.perPort[port]))
	for k, e := range md.general {
		out[k] = e
	}
	for k, e := range md.perPort[port] {
		out[k] = e
	}
	return out
}

// truthy reads a yes/no setting. Any other non-empty value counts as yes,
// as Registrator treats SERVICE_IGNORE.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "0", "no", "off":
		return false
	}
	return true
}

// splitTags splits a comma-separated tag list; `\,` is a comma inside a
// tag. Tags are trimmed and empty ones dropped.
func splitTags(s string) []string {
	var tags []string
	var cur strings.Builder
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			tags = append(tags, t)
		}
		cur.Reset()
	}
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ',':
			cur.WriteByte(',')
			i++
		case s[i] == ',':
			flush()
		default:
			cur.WriteByte(s[i])
		}
	}
	flush()
	return tags
}

// combineTags joins tag lists in order, dropping repeats.
func combineTags(lists ...[]string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, l := range lists {
		for _, t := range l {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}
