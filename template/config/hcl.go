package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// LoadPaths reads config files and directories in order and merges them,
// later over earlier. A directory contributes its regular files in
// lexical order, skipping hidden ones.
func LoadPaths(paths []string) (*Config, error) {
	var c *Config
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("config: %w", err)
			}
			fc, err := Parse(f, data)
			if err != nil {
				return nil, err
			}
			c = c.Merge(fc)
		}
	}
	if c == nil {
		c = &Config{}
	}
	return c, nil
}

func expand(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		hint := ""
		if strings.Contains(p, ":") {
			hint = " (-config takes a file or directory; templates go in -template src:dst:cmd)"
		}
		return nil, fmt.Errorf("config: %w%s", err, hint)
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, filepath.Join(p, e.Name()))
	}
	sort.Strings(out)
	return out, nil
}

// Parse reads one config file (HCL or JSON). Errors name the file, the
// line and the key.
func Parse(name string, data []byte) (c *Config, err error) {
	f, err := hcl.ParseBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	root, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil, fmt.Errorf("%s: the top level must be an object", name)
	}
	defer func() {
		// token.Value panics on malformed literals (an octal "09").
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%s: %v", name, r)
		}
	}()
	d := &decoder{file: name}
	c = &Config{}
	d.topLevel(d.object(root, ""), c)
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

// decoder walks the syntax tree, keeping the first error.
type decoder struct {
	file string
	err  error
}

// object is one block's items by key.
type object struct {
	line  int    // where the block starts
	path  string // "consul.retry", for messages
	items map[string][]*ast.ObjectItem
	order []string
}

func (d *decoder) fail(pos token.Pos, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s:%d: %s", d.file, pos.Line, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) object(list *ast.ObjectList, path string) *object {
	o := &object{path: path, items: map[string][]*ast.ObjectItem{}}
	for _, it := range list.Items {
		if len(it.Keys) == 0 {
			continue
		}
		k := it.Keys[0].Token.Value().(string)
		if len(it.Keys) > 1 {
			d.fail(it.Pos(), "%s: a label after %q is not allowed here", o.where(), k)
			continue
		}
		if _, ok := o.items[k]; !ok {
			o.order = append(o.order, k)
		}
		o.items[k] = append(o.items[k], it)
	}
	return o
}

// key is the dotted name of key k of the block, for messages.
func (o *object) key(k string) string {
	if o.path == "" {
		return k
	}
	return o.path + "." + k
}

func (o *object) where() string {
	if o.path == "" {
		return "config"
	}
	return o.path
}

// known reports keys that the block does not define.
func (d *decoder) known(o *object, keys ...string) {
	ok := map[string]bool{}
	for _, k := range keys {
		ok[k] = true
	}
	for _, k := range o.order {
		if !ok[k] {
			d.fail(o.items[k][0].Pos(), "unknown key %q in %s", k, o.where())
		}
	}
}

// last returns the value of the last item with key k.
func (o *object) last(k string) (ast.Node, bool) {
	its := o.items[k]
	if len(its) == 0 {
		return nil, false
	}
	return its[len(its)-1].Val, true
}

func (d *decoder) literal(o *object, k string) (any, token.Pos, bool) {
	n, ok := o.last(k)
	if !ok {
		return nil, token.Pos{}, false
	}
	lit, isLit := n.(*ast.LiteralType)
	if !isLit {
		d.fail(n.Pos(), "%s: want a single value", o.key(k))
		return nil, n.Pos(), false
	}
	return lit.Token.Value(), n.Pos(), true
}

func (d *decoder) str(o *object, k string, dst **string) {
	v, pos, ok := d.literal(o, k)
	if !ok {
		return
	}
	switch x := v.(type) {
	case string:
		*dst = ptr(x)
	case int64, float64, bool:
		*dst = ptr(fmt.Sprint(x))
	default:
		d.fail(pos, "%s: want a string", o.key(k))
	}
}

func (d *decoder) boolean(o *object, k string, dst **bool) {
	v, pos, ok := d.literal(o, k)
	if !ok {
		return
	}
	switch x := v.(type) {
	case bool:
		*dst = ptr(x)
	case string:
		switch strings.ToLower(x) {
		case "true":
			*dst = ptr(true)
		case "false":
			*dst = ptr(false)
		default:
			d.fail(pos, "%s: %q is not true or false", o.key(k), x)
		}
	default:
		d.fail(pos, "%s: want true or false", o.key(k))
	}
}

func (d *decoder) integer(o *object, k string, dst **int) {
	v, pos, ok := d.literal(o, k)
	if !ok {
		return
	}
	n, isInt := v.(int64)
	if !isInt {
		d.fail(pos, "%s: want a whole number", o.key(k))
		return
	}
	*dst = ptr(int(n))
}

func (d *decoder) duration(o *object, k string, dst **time.Duration) {
	v, pos, ok := d.literal(o, k)
	if !ok {
		return
	}
	s, isStr := v.(string)
	if !isStr {
		d.fail(pos, "%s: want a duration in quotes, like \"5s\"", o.key(k))
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.fail(pos, "%s: %q is not a duration like \"5s\"", o.key(k), s)
		return
	}
	*dst = ptr(dur)
}

// strings reads a string or a list of strings; shell is true for a single
// string.
func (d *decoder) strings(o *object, k string) (list []string, shell, set bool) {
	n, ok := o.last(k)
	if !ok {
		return nil, false, false
	}
	switch x := n.(type) {
	case *ast.LiteralType:
		s, isStr := x.Token.Value().(string)
		if !isStr {
			d.fail(n.Pos(), "%s: want a string or a list of strings", o.key(k))
			return nil, false, false
		}
		return []string{s}, true, true
	case *ast.ListType:
		for _, e := range x.List {
			lit, isLit := e.(*ast.LiteralType)
			s, isStr := "", false
			if isLit {
				s, isStr = lit.Token.Value().(string)
			}
			if !isStr {
				d.fail(e.Pos(), "%s: want a list of strings", o.key(k))
				return nil, false, false
			}
			list = append(list, s)
		}
		return list, false, true
	}
	d.fail(n.Pos(), "%s: want a string or a list of strings", o.key(k))
	return nil, false, false
}

// blocks returns every block with key k (a repeated block, or a JSON list
// of objects).
func (d *decoder) blocks(o *object, k string) []*object {
	var out []*object
	path := k
	if o.path != "" {
		path = o.path + "." + k
	}
	for _, it := range o.items[k] {
		switch v := it.Val.(type) {
		case *ast.ObjectType:
			b := d.object(v.List, path)
			b.line = it.Pos().Line
			out = append(out, b)
		case *ast.ListType:
			for _, e := range v.List {
				obj, isObj := e.(*ast.ObjectType)
				if !isObj {
					d.fail(e.Pos(), "%s: want a block", path)
					continue
				}
				b := d.object(obj.List, path)
				b.line = e.Pos().Line
				out = append(out, b)
			}
		default:
			d.fail(it.Pos(), "%s: want a block { ... }", path)
		}
	}
	return out
}

// block returns the last block with key k, or an empty one.
func (d *decoder) block(o *object, k string) *object {
	bs := d.blocks(o, k)
	if len(bs) == 0 {
		return &object{path: k, items: map[string][]*ast.ObjectItem{}}
	}
	return bs[len(bs)-1]
}

// wait reads `wait = "min:max"` or `wait { min = .. max = .. }`.
func (d *decoder) wait(o *object, dst *Wait) {
	n, ok := o.last("wait")
	if !ok {
		return
	}
	if lit, isLit := n.(*ast.LiteralType); isLit {
		s, _ := lit.Token.Value().(string)
		w, err := ParseWait(s)
		if err != nil {
			d.fail(n.Pos(), "%s: %v", o.where(), err)
			return
		}
		*dst = w
		return
	}
	b := d.block(o, "wait")
	d.known(b, "min", "max", "enabled")
	var w Wait
	d.duration(b, "min", &w.Min)
	d.duration(b, "max", &w.Max)
	var enabled *bool
	d.boolean(b, "enabled", &enabled)
	if enabled != nil && !*enabled {
		w = Wait{Min: ptr(time.Duration(0)), Max: ptr(time.Duration(0))}
	}
	if w.Min == nil && w.Max != nil {
		w.Min = ptr(time.Duration(0))
	}
	*dst = w
}
