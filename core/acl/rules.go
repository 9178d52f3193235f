package acl

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	hclstrconv "github.com/hashicorp/hcl/hcl/strconv"
	"github.com/hashicorp/hcl/hcl/token"
)

// Rules is a parsed policy: per named resource, the level for exact names
// and for prefixes; per global resource, one level.
type Rules struct {
	exact  [numResources]map[string]Access
	prefix [numResources]map[string]Access
	global [numResources]Access
}

// ruleKinds maps every rule name to its resource and whether it is a
// prefix rule.
var ruleKinds = func() map[string]struct {
	res    Resource
	prefix bool
} {
	m := map[string]struct {
		res    Resource
		prefix bool
	}{}
	for r := Resource(0); r < numResources; r++ {
		m[r.String()] = struct {
			res    Resource
			prefix bool
		}{r, false}
		if r.named() {
			m[r.String()+"_prefix"] = struct {
				res    Resource
				prefix bool
			}{r, true}
		}
	}
	return m
}()

// ignoredRules are Consul rule kinds for features beacon does not have;
// policies written for Consul may carry them.
var ignoredRules = map[string]bool{"mesh": true, "peering": true, "partition": true,
	"partition_prefix": true, "namespace": true, "namespace_prefix": true, "identity": true, "identity_prefix": true}

// ParseError is a rule that cannot be understood, with its position.
type ParseError struct {
	Line int
	Rule string
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Rule == "" {
		return fmt.Sprintf("rules: line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("rules: line %d: %s: %s", e.Line, e.Rule, e.Msg)
}

// Parse reads rules written in HCL or JSON:
//
//	key_prefix "app/" { policy = "read" }
//	service "web" { policy = "write" }
//	operator = "read"
//
// An empty text is an empty policy.
func Parse(text string) (r *Rules, err error) {
	r = newRules()
	if strings.TrimSpace(text) == "" {
		return r, nil
	}
	defer func() {
		// The HCL parser has panicked on malformed input in the past; a
		// rule text is user input, so a panic is a parse error here.
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("rules: cannot parse: %v", p)
		}
	}()
	f, err := hcl.ParseString(text)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil, fmt.Errorf("rules: expected rule blocks at the top level")
	}
	for _, item := range list.Items {
		if err := r.addItem(item); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func newRules() *Rules {
	r := &Rules{}
	for i := range r.exact {
		r.exact[i] = map[string]Access{}
		r.prefix[i] = map[string]Access{}
	}
	return r
}

// addItem adds one top-level item: `kind "name" { policy = ... }`,
// `kind = { "name" = { policy = ... } }` (the JSON form) or `kind = "level"`.
func (r *Rules) addItem(item *ast.ObjectItem) error {
	line := item.Pos().Line
	if len(item.Keys) == 0 {
		return &ParseError{Line: line, Msg: "rule without a name"}
	}
	kindName, err := keyString(item.Keys[0].Token)
	if err != nil {
		return &ParseError{Line: line, Msg: err.Error()}
	}
	if ignoredRules[kindName] {
		return nil
	}
	kind, ok := ruleKinds[kindName]
	if !ok {
		return &ParseError{Line: line, Rule: kindName, Msg: "unknown rule (want one of " + strings.Join(knownRules(), ", ") + ")"}
	}
	if !kind.res.named() {
		if len(item.Keys) > 1 {
			return &ParseError{Line: line, Rule: kindName, Msg: `takes a level, as in ` + kindName + ` = "read"`}
		}
		lvl, err := levelOf(item.Val)
		if err == nil && lvl == List {
			err = fmt.Errorf(`"list" applies to keys only`)
		}
		if err != nil {
			return &ParseError{Line: line, Rule: kindName, Msg: err.Error()}
		}
		r.global[kind.res] = merge(r.global[kind.res], lvl)
		return nil
	}
	if len(item.Keys) > 2 {
		return &ParseError{Line: line, Rule: kindName, Msg: "too many labels"}
	}
	if len(item.Keys) == 2 {
		name, err := keyString(item.Keys[1].Token)
		if err != nil {
			return &ParseError{Line: line, Rule: kindName, Msg: err.Error()}
		}
		return r.addNamed(kindName, kind.res, kind.prefix, name, item.Val, line)
	}
	// kind = { name = { policy = ... } }, or a list of such objects.
	var objs []*ast.ObjectType
	switch v := item.Val.(type) {
	case *ast.ObjectType:
		objs = append(objs, v)
	case *ast.ListType:
		for _, n := range v.List {
			o, ok := n.(*ast.ObjectType)
			if !ok {
				return &ParseError{Line: line, Rule: kindName, Msg: "expected objects of names"}
			}
			objs = append(objs, o)
		}
	default:
		return &ParseError{Line: line, Rule: kindName, Msg: `expected a name, as in ` + kindName + ` "name" { policy = "read" }`}
	}
	for _, o := range objs {
		for _, sub := range o.List.Items {
			subLine := sub.Pos().Line
			if len(sub.Keys) != 1 {
				return &ParseError{Line: subLine, Rule: kindName, Msg: "expected one name per block"}
			}
			name, err := keyString(sub.Keys[0].Token)
			if err != nil {
				return &ParseError{Line: subLine, Rule: kindName, Msg: err.Error()}
			}
			if err := r.addNamed(kindName, kind.res, kind.prefix, name, sub.Val, subLine); err != nil {
				return err
			}
		}
	}
	return nil
}

// addNamed adds a rule body `{ policy = "read" }` for one name.
func (r *Rules) addNamed(kindName string, res Resource, prefix bool, name string, body ast.Node, line int) error {
	rule := fmt.Sprintf("%s %q", kindName, name)
	obj, ok := body.(*ast.ObjectType)
	if !ok {
		if l, isList := body.(*ast.ListType); isList && len(l.List) == 1 {
			obj, ok = l.List[0].(*ast.ObjectType)
		}
	}
	if !ok {
		return &ParseError{Line: line, Rule: rule, Msg: `expected a block, as in { policy = "read" }`}
	}
	var lvl Access
	for _, f := range obj.List.Items {
		fl := f.Pos().Line
		if len(f.Keys) != 1 {
			return &ParseError{Line: fl, Rule: rule, Msg: "unexpected nested block"}
		}
		field, err := keyString(f.Keys[0].Token)
		if err != nil {
			return &ParseError{Line: fl, Rule: rule, Msg: err.Error()}
		}
		switch field {
		case "policy":
			v, err := levelOf(f.Val)
			if err == nil && v == List && res != Key {
				err = fmt.Errorf(`"list" applies to keys only`)
			}
			if err != nil {
				return &ParseError{Line: fl, Rule: rule, Msg: err.Error()}
			}
			lvl = v
		case "intentions":
			// Service mesh intentions: beacon has no mesh.
		default:
			return &ParseError{Line: fl, Rule: rule, Msg: fmt.Sprintf("unknown field %q (want policy)", field)}
		}
	}
	if lvl == accessNone {
		return &ParseError{Line: line, Rule: rule, Msg: "missing policy"}
	}
	m := r.exact[res]
	if prefix {
		m = r.prefix[res]
	}
	m[name] = merge(m[name], lvl)
	return nil
}

// levelOf reads a level value: "read", "write", "list" or "deny".
func levelOf(n ast.Node) (Access, error) {
	lit, ok := n.(*ast.LiteralType)
	if !ok || lit.Token.Type != token.STRING {
		return accessNone, fmt.Errorf(`expected a quoted level: "read", "write", "list" or "deny"`)
	}
	s, err := unquote(lit.Token)
	if err != nil {
		return accessNone, err
	}
	a, ok := parseAccess(s)
	if !ok {
		return accessNone, fmt.Errorf(`invalid policy %q (want "read", "write", "list" or "deny")`, s)
	}
	return a, nil
}

// keyString is the text of a key: an identifier or a quoted string.
func keyString(t token.Token) (string, error) {
	switch t.Type {
	case token.IDENT:
		return t.Text, nil
	case token.STRING:
		return unquote(t)
	}
	return "", fmt.Errorf("unexpected %s %q", t.Type, t.Text)
}

// unquote reads a string token without the panics of token.Value.
func unquote(t token.Token) (string, error) {
	if t.Text == "" {
		return "", nil
	}
	var s string
	var err error
	if t.JSON {
		s, err = strconv.Unquote(t.Text)
	} else {
		s, err = hclstrconv.Unquote(t.Text)
	}
	if err != nil {
		return "", fmt.Errorf("bad string %s: %v", t.Text, err)
	}
	return s, nil
}

// merge combines two levels given for the same thing: deny wins, else the
// higher level.
func merge(a, b Access) Access {
	if a == Deny || b == Deny {
		return Deny
	}
	return max(a, b)
}

func knownRules() []string {
	var out []string
	for k := range ruleKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Merge adds every rule of o to r, with deny winning over any grant for
// the same name.
func (r *Rules) Merge(o *Rules) {
	for res := Resource(0); res < numResources; res++ {
		for k, v := range o.exact[res] {
			r.exact[res][k] = merge(r.exact[res][k], v)
		}
		for k, v := range o.prefix[res] {
			r.prefix[res][k] = merge(r.prefix[res][k], v)
		}
		r.global[res] = merge(r.global[res], o.global[res])
	}
}
