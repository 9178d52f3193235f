// Package decode turns user-written JSON or HCL into typed structs the way
// Consul users expect: keys match fields whatever their case and with or
// without underscores ("enable_tag_override" = "EnableTagOverride"), fields
// may declare aliases (`alias:"args"`), HCL's block lists are unwrapped where
// the target is a single object, and keys inside user maps (Meta, Header)
// are left exactly as written. In strict mode an unknown key is an error
// that names its full path.
package decode

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// JSON decodes data into out (a pointer to a struct). Unknown keys are an
// error when strict, and ignored otherwise.
func JSON(data []byte, out interface{}, strict bool) error {
	var raw interface{}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	return Value(raw, out, strict)
}

// Value decodes an already parsed JSON/HCL value into out.
func Value(raw interface{}, out interface{}, strict bool) error {
	t := reflect.TypeOf(out)
	if t == nil || t.Kind() != reflect.Ptr {
		return fmt.Errorf("decode target must be a pointer, not %T", out)
	}
	norm, err := Normalize(raw, t.Elem(), "", strict)
	if err != nil {
		return err
	}
	b, err := json.Marshal(norm)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return TypeError(err)
	}
	return nil
}

// Normalize rewrites raw so that encoding/json decodes it into a value of
// type t: object keys become the fields' JSON names. path prefixes key names
// in errors.
func Normalize(raw interface{}, t reflect.Type, path string, strict bool) (interface{}, error) {
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	if raw == nil {
		return nil, nil
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return unwrapSingle(raw), nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := asObject(raw)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object, got %s", where(path), kindOf(raw))
		}
		return normalizeStruct(m, t, path, strict)
	case reflect.Map:
		m, ok := asObject(raw)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object, got %s", where(path), kindOf(raw))
		}
		out := make(map[string]interface{}, len(m))
		for k, v := range m {
			nv, err := Normalize(v, t.Elem(), join(path, k), strict)
			if err != nil {
				return nil, err
			}
			out[k] = nv
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return raw, nil // []byte is base64 text
		}
		list, ok := raw.([]interface{})
		if !ok {
			if ms, ok := raw.([]map[string]interface{}); ok {
				for _, m := range ms {
					list = append(list, m)
				}
			} else {
				// A single value where a list is expected: a list of one.
				list = []interface{}{raw}
			}
		}
		out := make([]interface{}, 0, len(list))
		for i, v := range list {
			nv, err := Normalize(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i), strict)
			if err != nil {
				return nil, err
			}
			out = append(out, nv)
		}
		return out, nil
	case reflect.Interface:
		return raw, nil
	default:
		return unwrapSingle(raw), nil
	}
}

var unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

func normalizeStruct(m map[string]interface{}, t reflect.Type, path string, strict bool) (interface{}, error) {
	fields := fieldsOf(t)
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		f, ok := fields.byKey[foldKey(k)]
		if !ok {
			if strict {
				return nil, fmt.Errorf("unknown key %q", join(path, k))
			}
			continue
		}
		nv, err := Normalize(v, f.typ, join(path, k), strict)
		if err != nil {
			return nil, err
		}
		if _, dup := out[f.jsonName]; dup {
			// "check" and "checks" are distinct fields; two spellings of one
			// key ("name" and "Name") are ambiguous, whatever their values.
			return nil, fmt.Errorf("%s: key given twice under different spellings", where(join(path, k)))
		}
		out[f.jsonName] = nv
	}
	return out, nil
}

type field struct {
	jsonName string
	typ      reflect.Type
}

type fieldSet struct {
	byKey map[string]field
}

var fieldCache sync.Map // reflect.Type -> *fieldSet

// fieldsOf indexes a struct's fields (and those of embedded structs) by the
// folded form of their JSON name, Go name and aliases.
func fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byKey: map[string]field{}}
	collectFields(t, fs)
	fieldCache.Store(t, fs)
	return fs
}

func collectFields(t reflect.Type, fs *fieldSet) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		name := strings.Split(tag, ",")[0]
		if name == "-" {
			continue
		}
		if sf.Anonymous && name == "" {
			et := sf.Type
			if et.Kind() == reflect.Ptr {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				collectFields(et, fs)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := field{jsonName: name, typ: sf.Type}
		keys := []string{name, sf.Name}
		if a := sf.Tag.Get("alias"); a != "" {
			keys = append(keys, strings.Split(a, ",")...)
		}
		for _, k := range keys {
			if _, taken := fs.byKey[foldKey(k)]; !taken {
				fs.byKey[foldKey(k)] = f
			}
		}
	}
}

// foldKey lower-cases a key and drops underscores and dashes.
func foldKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-':
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// asObject accepts a JSON object, or HCL's list holding one object.
func asObject(raw interface{}) (map[string]interface{}, bool) {
	switch v := raw.(type) {
	case map[string]interface{}:
		return v, true
	case []map[string]interface{}:
		return mergeObjects(v), len(v) > 0
	case []interface{}:
		ms := make([]map[string]interface{}, 0, len(v))
		for _, e := range v {
			m, ok := e.(map[string]interface{})
			if !ok {
				return nil, false
			}
			ms = append(ms, m)
		}
		return mergeObjects(ms), len(ms) > 0
	}
	return nil, false
}

// mergeObjects folds HCL's repeated blocks (`ports { http = 1 } ports { dns = 2 }`)
// into one object.
func mergeObjects(ms []map[string]interface{}) map[string]interface{} {
	if len(ms) == 1 {
		return ms[0]
	}
	out := map[string]interface{}{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// unwrapSingle turns HCL's one-element lists back into the element.
func unwrapSingle(raw interface{}) interface{} {
	if l, ok := raw.([]interface{}); ok && len(l) == 1 {
		if _, isObj := l[0].(map[string]interface{}); !isObj {
			return l[0]
		}
	}
	return raw
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func where(path string) string {
	if path == "" {
		return "top level"
	}
	return fmt.Sprintf("key %q", path)
}

func kindOf(v interface{}) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64, int, int64:
		return "a number"
	case bool:
		return "a boolean"
	case []interface{}:
		return "a list"
	case map[string]interface{}:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// TypeError rewords encoding/json's type errors to name the key.
func TypeError(err error) error {
	if te, ok := err.(*json.UnmarshalTypeError); ok && te.Field != "" {
		return fmt.Errorf("key %q: expected %s, got a %s", te.Field, te.Type, te.Value)
	}
	return err
}
