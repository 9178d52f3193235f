package query

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/beacon-sd/beacon/core/structs"
)

// Template is a query template ready to render: every string of its
// Service parsed once, its Regexp compiled.
type Template struct {
	query *structs.PreparedQuery
	re    *regexp.Regexp
	// fields maps each string of the Service (by its place, see
	// serviceStrings) to its parsed form.
	fields map[string]text
}

// Compile checks a template and prepares it. It renders the template once
// with its own Name, as the shortest name it will answer, so that an
// interpolation that cannot work is refused when the template is written.
func Compile(q *structs.PreparedQuery) (*Template, error) {
	if q.Template.Type != structs.QueryTemplateNamePrefixMatch {
		return nil, fmt.Errorf("bad Template.Type %q: the only type is %q", q.Template.Type, structs.QueryTemplateNamePrefixMatch)
	}
	t := &Template{query: q.Clone(), fields: map[string]text{}}
	err := serviceStrings(&t.query.Service, func(where string, s *string) error {
		parsed, err := parseText(*s)
		if err != nil {
			return fmt.Errorf("bad interpolation %q in Service%s: %v", *s, where, err)
		}
		t.fields[where] = parsed
		return nil
	})
	if err != nil {
		return nil, err
	}
	if q.Template.Regexp != "" {
		if t.re, err = regexp.Compile(q.Template.Regexp); err != nil {
			return nil, fmt.Errorf("bad Template.Regexp: %v", err)
		}
	}
	if _, err := t.Render(q.Name, ""); err != nil {
		return nil, err
	}
	return t, nil
}

// Render is the query a name resolves to: a copy of the template with
// every string of its Service interpolated. segment is the network segment
// of the agent that asked (${agent.segment}).
func (t *Template) Render(name, segment string) (*structs.PreparedQuery, error) {
	q := t.query.Clone()
	vars := vars{full: name, prefix: q.Name, suffix: strings.TrimPrefix(name, q.Name), segment: segment}
	if t.re != nil {
		vars.matches = t.re.FindStringSubmatch(name)
	}
	err := serviceStrings(&q.Service, func(where string, s *string) error {
		if f, ok := t.fields[where]; ok {
			*s = f.render(&vars)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if q.Template.RemoveEmptyTags {
		tags := make([]string, 0, len(q.Service.Tags))
		for _, tag := range q.Service.Tags {
			if tag != "" {
				tags = append(tags, tag)
			}
		}
		q.Service.Tags = tags
	}
	return q, nil
}

// serviceStrings calls fn with every string of a service query that a
// template interpolates, and where it is ("Service.Tags[1]" without the
// "Service").
func serviceStrings(s *structs.ServiceQuery, fn func(where string, s *string) error) error {
	if err := fn(".Service", &s.Service); err != nil {
		return err
	}
	if err := fn(".Near", &s.Near); err != nil {
		return err
	}
	lists := []struct {
		name string
		list []string
	}{{".Failover.Datacenters", s.Failover.Datacenters}, {".IgnoreCheckIDs", s.IgnoreCheckIDs}, {".Tags", s.Tags}}
	for _, l := range lists {
		for i := range l.list {
			if err := fn(fmt.Sprintf("%s[%d]", l.name, i), &l.list[i]); err != nil {
				return err
			}
		}
	}
	for i := range s.Failover.Targets {
		if err := fn(fmt.Sprintf(".Failover.Targets[%d].Datacenter", i), &s.Failover.Targets[i].Datacenter); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		name string
		meta map[string]string
	}{{".NodeMeta", s.NodeMeta}, {".ServiceMeta", s.ServiceMeta}} {
		for k, v := range m.meta {
			val := v
			if err := fn(m.name+"["+k+"]", &val); err != nil {
				return err
			}
			m.meta[k] = val
		}
	}
	return nil
}

// vars are what interpolation has to say about the name being resolved.
type vars struct {
	full, prefix, suffix, segment string
	matches                       []string
}

// text is a string with interpolations: literal parts and ${...} parts in
// turn.
type text []part

type part struct {
	lit   string
	ref   ref
	match int // for refMatch
}

type ref int

const (
	refNone ref = iota
	refFull
	refPrefix
	refSuffix
	refSegment
	refMatch
)

var variables = map[string]ref{
	"name.full":     refFull,
	"name.prefix":   refPrefix,
	"name.suffix":   refSuffix,
	"agent.segment": refSegment,
}

// parseText reads a string with ${...} interpolations: the variables
// name.full, name.prefix, name.suffix and agent.segment, and match(N), the
// Nth group of the template's Regexp. "$${" stands for a literal "${".
func parseText(s string) (text, error) {
	var out text
	var lit strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("%q at %d is not closed with '}'", "${", i)
			}
			p, err := parseRef(strings.TrimSpace(s[i+2 : i+end]))
			if err != nil {
				return nil, err
			}
			if lit.Len() > 0 {
				out = append(out, part{lit: lit.String()})
				lit.Reset()
			}
			out = append(out, p)
			i += end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	if lit.Len() > 0 {
		out = append(out, part{lit: lit.String()})
	}
	return out, nil
}

func parseRef(expr string) (part, error) {
	if r, ok := variables[expr]; ok {
		return part{ref: r}, nil
	}
	if arg, ok := strings.CutPrefix(expr, "match("); ok {
		if arg, ok = strings.CutSuffix(arg, ")"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(arg))
			if err != nil {
				return part{}, fmt.Errorf("match(%s): the argument is a group number", arg)
			}
			return part{ref: refMatch, match: n}, nil
		}
	}
	return part{}, fmt.Errorf("unknown interpolation ${%s}: there are ${name.full}, ${name.prefix}, ${name.suffix}, ${agent.segment} and ${match(N)}", expr)
}

func (t text) render(v *vars) string {
	if len(t) == 1 && t[0].ref == refNone {
		return t[0].lit
	}
	var b strings.Builder
	for _, p := range t {
		switch p.ref {
		case refNone:
			b.WriteString(p.lit)
		case refFull:
			b.WriteString(v.full)
		case refPrefix:
			b.WriteString(v.prefix)
		case refSuffix:
			b.WriteString(v.suffix)
		case refSegment:
			b.WriteString(v.segment)
		case refMatch:
			// A group that did not match, or does not exist, is empty.
			if p.match >= 0 && p.match < len(v.matches) {
				b.WriteString(v.matches[p.match])
			}
		}
	}
	return b.String()
}
