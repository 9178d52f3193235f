package template

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/beacon-sd/beacon/watcher/dep"
)

// helperFuncs are consul-template's helpers over strings and collections.
// Argument orders follow consul-template, so that the value piped in comes
// last: `{{ .Name | split "-" | join "." }}`, `{{ .Tags | contains "x" }}`.
func helperFuncs() map[string]any {
	return map[string]any{
		"byKey":           byKey,
		"byTag":           byTag,
		"byMeta":          byMeta,
		"contains":        func(needle, haystack any) bool { return in(haystack, needle) },
		"containsAll":     containsWith(func(hits, n int) bool { return hits == n }),
		"containsAny":     containsWith(func(hits, n int) bool { return hits > 0 }),
		"containsNone":    containsWith(func(hits, n int) bool { return hits == 0 }),
		"containsNotAll":  containsWith(func(hits, n int) bool { return hits < n }),
		"in":              in,
		"env":             os.Getenv,
		"mustEnv":         mustEnv,
		"envOrDefault":    envOrDefault,
		"explode":         explode,
		"explodeMap":      explodeMap,
		"indent":          indent,
		"join":            func(sep string, list []string) string { return strings.Join(list, sep) },
		"split":           split,
		"splitToMap":      splitToMap,
		"loop":            loop,
		"regexMatch":      regexMatch,
		"regexReplaceAll": regexReplaceAll,
		"replaceAll":      func(from, to, s string) string { return strings.ReplaceAll(s, from, to) },
		"timestamp":       timestamp,
		"toLower":         strings.ToLower,
		"toUpper":         strings.ToUpper,
		"toTitle":         func(s string) string { return cases.Title(language.Und, cases.NoLower).String(s) },
		"trimSpace":       strings.TrimSpace,
		"trim":            func(cutset, s string) string { return strings.Trim(s, cutset) },
		"trimPrefix":      func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix":      func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
	}
}

// in reports whether needle is an element of haystack (a slice or array),
// or a substring of it (a string). Numbers compare by value across int
// and float kinds of the same family.
func in(haystack, needle any) bool {
	h := reflect.ValueOf(haystack)
	n := reflect.ValueOf(needle)
	if !h.IsValid() || !n.IsValid() {
		return false
	}
	switch h.Kind() {
	case reflect.String:
		return n.Kind() == reflect.String && strings.Contains(h.String(), n.String())
	case reflect.Slice, reflect.Array:
		for i := 0; i < h.Len(); i++ {
			if sameValue(h.Index(i), n) {
				return true
			}
		}
	}
	return false
}

func sameValue(a, b reflect.Value) bool {
	for a.Kind() == reflect.Interface && !a.IsNil() {
		a = a.Elem()
	}
	for b.Kind() == reflect.Interface && !b.IsNil() {
		b = b.Elem()
	}
	switch {
	case isInt(a) && isInt(b):
		return a.Int() == b.Int()
	case isUint(a) && isUint(b):
		return a.Uint() == b.Uint()
	case isFloat(a) && isFloat(b):
		return a.Float() == b.Float()
	case a.Kind() == reflect.String && b.Kind() == reflect.String:
		return a.String() == b.String()
	}
	return false
}

// containsWith builds containsAll/Any/None/NotAll: needles is a list,
// haystack anything `in` accepts; ok decides from the number of needles
// found and the number of needles.
func containsWith(ok func(hits, n int) bool) func(needles, haystack any) (bool, error) {
	return func(needles, haystack any) (bool, error) {
		v := reflect.ValueOf(needles)
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			return false, fmt.Errorf("want a list of needles, got %T", needles)
		}
		hits := 0
		for i := 0; i < v.Len(); i++ {
			if in(haystack, v.Index(i).Interface()) {
				hits++
			}
		}
		return ok(hits, v.Len()), nil
	}
}

func mustEnv(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("required environment variable %s is empty", name)
	}
	return v, nil
}

func envOrDefault(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// byKey groups pairs of a tree by their first path segment, which is cut
// from their Key; pairs with nothing below the first segment are left out.
func byKey(pairs []*dep.KeyPair) map[string]map[string]*dep.KeyPair {
	out := map[string]map[string]*dep.KeyPair{}
	for _, p := range pairs {
		top, rest, _ := strings.Cut(p.Key, "/")
		if rest == "" {
			continue
		}
		if out[top] == nil {
			out[top] = map[string]*dep.KeyPair{}
		}
		cp := *p
		cp.Key = rest
		out[top][rest] = &cp
	}
	return out
}

// byTag groups services (from service or services) by each of their tags.
func byTag(list any) (map[string][]any, error) {
	out := map[string][]any{}
	switch l := list.(type) {
	case nil:
	case []*dep.HealthService:
		for _, s := range l {
			for _, tag := range s.Tags {
				out[tag] = append(out[tag], s)
			}
		}
	case []*dep.CatalogSnippet:
		for _, s := range l {
			for _, tag := range s.Tags {
				out[tag] = append(out[tag], s)
			}
		}
	default:
		return nil, fmt.Errorf("byTag: want the result of service or services, got %T", list)
	}
	return out, nil
}

var metaKeyUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_-]`)

// byMeta groups services by the values of one or more comma-separated meta
// keys, joined with "_"; a key with "|int" is zero-padded to five digits so
// that groups sort numerically.
func byMeta(keys string, services []*dep.HealthService) (map[string][]*dep.HealthService, error) {
	out := map[string][]*dep.HealthService{}
	specs := strings.Split(keys, ",")
	for _, s := range services {
		parts := make([]string, 0, len(specs))
		for _, spec := range specs {
			name, asInt := strings.CutSuffix(spec, "|int")
			v := s.ServiceMeta[name]
			switch {
			case asInt:
				if v == "" {
					v = "0"
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("byMeta: service %s meta %s=%q is not a number", s.ID, name, v)
				}
				v = fmt.Sprintf("%05d", n)
			case v == "":
				v = "_no_" + name + "_"
			}
			parts = append(parts, metaKeyUnsafe.ReplaceAllString(v, "_"))
		}
		k := strings.Join(parts, "_")
		out[k] = append(out[k], s)
	}
	return out, nil
}

// explode turns the pairs of a tree into nested maps by path segment.
func explode(pairs []*dep.KeyPair) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range pairs {
		if err := explodeInto(out, p.Key, p.Value, p.Key); err != nil {
			return nil, fmt.Errorf("explode: %w", err)
		}
	}
	return out, nil
}

// explodeMap is explode for a flat map of "a/b/c" keys.
func explodeMap(in map[string]any) (map[string]any, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for _, k := range keys {
		if err := explodeInto(out, k, in[k], k); err != nil {
			return nil, fmt.Errorf("explodeMap: %w", err)
		}
	}
	return out, nil
}

func explodeInto(m map[string]any, key string, v any, full string) error {
	top, rest, nested := strings.Cut(key, "/")
	if !nested {
		if key != "" {
			m[key] = v
		}
		return nil
	}
	if m[top] == nil {
		m[top] = map[string]any{}
	}
	sub, ok := m[top].(map[string]any)
	if !ok {
		return fmt.Errorf("%q: %q already holds the value %v", full, top, m[top])
	}
	return explodeInto(sub, rest, v, full)
}

// indent puts n spaces before every line that is not empty.
func indent(n int, s string) (string, error) {
	if n < 0 {
		return "", fmt.Errorf("indent: %d spaces: must not be negative", n)
	}
	pad := strings.Repeat(" ", n)
	var b bytes.Buffer
	atStart := true
	for i := 0; i < len(s); i++ {
		if atStart && s[i] != '\n' {
			b.WriteString(pad)
		}
		b.WriteByte(s[i])
		atStart = s[i] == '\n'
	}
	return b.String(), nil
}

// split cuts s on sep after trimming surrounding space; an empty s gives
// an empty list.
func split(sep, s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return []string{}
	}
	return strings.Split(s, sep)
}

// splitToMap splits s on sep into items and each item on kvSep into a key
// and a value; items without kvSep are skipped.
func splitToMap(sep, kvSep, s string) map[string]string {
	out := map[string]string{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out
	}
	for _, item := range strings.Split(s, sep) {
		if k, v, ok := strings.Cut(item, kvSep); ok {
			out[k] = v
		}
	}
	return out
}

// loop is `loop N` (0..N-1) or `loop M N` (M..N-1); bounds may be numbers
// or numeric strings.
func loop(bounds ...any) ([]int64, error) {
	var from, to any
	switch len(bounds) {
	case 1:
		from, to = 0, bounds[0]
	case 2:
		from, to = bounds[0], bounds[1]
	default:
		return nil, fmt.Errorf("loop: want 1 or 2 arguments, got %d", len(bounds))
	}
	start, err := toInt64("loop", from)
	if err != nil {
		return nil, err
	}
	stop, err := toInt64("loop", to)
	if err != nil {
		return nil, err
	}
	if stop-start > 1<<24 {
		return nil, fmt.Errorf("loop: %d iterations is too many", stop-start)
	}
	out := []int64{}
	for i := start; i < stop; i++ {
		out = append(out, i)
	}
	return out, nil
}

func toInt64(fn string, x any) (int64, error) {
	v := reflect.ValueOf(x)
	switch {
	case isInt(v):
		return v.Int(), nil
	case isUint(v):
		return int64(v.Uint()), nil
	case v.Kind() == reflect.String:
		if v.String() == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not an integer", fn, v.String())
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s: %v (%T) is not an integer", fn, x, x)
}

func regexMatch(re, s string) (bool, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return false, fmt.Errorf("regexMatch: %w", err)
	}
	return r.MatchString(s), nil
}

// regexReplaceAll replaces matches of re in s with repl ($1 expands).
func regexReplaceAll(re, repl, s string) (string, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return "", fmt.Errorf("regexReplaceAll: %w", err)
	}
	return r.ReplaceAllString(s, repl), nil
}

// now is the clock of timestamp; tests replace it.
var now = func() time.Time { return time.Now().UTC() }

// timestamp is the current UTC time in RFC 3339, in the given Go layout,
// or in Unix seconds for "unix".
func timestamp(layout ...string) (string, error) {
	switch len(layout) {
	case 0:
		return now().Format(time.RFC3339), nil
	case 1:
		if layout[0] == "unix" {
			return strconv.FormatInt(now().Unix(), 10), nil
		}
		return now().Format(layout[0]), nil
	}
	return "", fmt.Errorf("timestamp: want 0 or 1 arguments, got %d", len(layout))
}
