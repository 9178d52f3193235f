package decode

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

// decodeTargets are the request bodies the API and config loader decode
// with this package. Each call returns a fresh zero value.
var decodeTargets = []struct {
	name string
	new  func() interface{}
}{
	{"ServiceDefinition", func() interface{} { return &structs.ServiceDefinition{} }},
	{"RegisterRequest", func() interface{} { return &structs.RegisterRequest{} }},
	{"CheckDefinition", func() interface{} { return &structs.CheckDefinition{} }},
}

// FuzzDecodeServiceDefinition feeds arbitrary bytes to JSON for every
// target type and both strict values. Properties:
//
//  1. JSON never panics.
//  2. A strict decode that succeeds is also a lenient success with the same
//     value (strict mode only rejects more).
//  3. What decoded re-encodes with encoding/json and decodes again, strictly
//     and leniently, to a reflect.DeepEqual value: the decoder accepts
//     everything the types' own JSON encoding writes, and loses nothing.
//
// Narrowings, each for a legitimate reason:
//
//   - Property 2 and 3 are checked only when the body has no object in
//     which two keys fold to the same field (decode's foldKey, e.g. "name"
//     and "Name"): such a body is refused (see hasFoldedDuplicate and
//     TestDecodeDuplicateSpellingDeterministic), so there is no decoded
//     value to compare.
//   - The round trip compares values after zeroing the fields that
//     encoding/json leaves out under omitempty (dropOmitted): e.g. a
//     RegisterRequest's Service.TaggedAddresses given as {} encodes as
//     nothing and comes back nil. That is the types' encoding, not the
//     decoder, losing the difference between empty and absent.
func FuzzDecodeServiceDefinition(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dup := hasFoldedDuplicate(data)
		for _, tg := range decodeTargets {
			var lenient interface{}
			for _, strict := range []bool{false, true} {
				v := tg.new()
				if err := JSON(data, v, strict); err != nil {
					if strict || dup {
						continue
					}
					// A lenient failure must also be a strict one.
					if err2 := JSON(data, tg.new(), true); err2 == nil {
						t.Fatalf("%s: lenient decode failed (%v) but strict succeeded for %q", tg.name, err, data)
					}
					continue
				}
				if !strict {
					lenient = v
				} else if !dup && !reflect.DeepEqual(lenient, v) {
					t.Fatalf("%s: strict and lenient decodes differ for %q:\nlenient %#v\nstrict  %#v", tg.name, data, lenient, v)
				}
				if dup {
					continue
				}
				roundTrip(t, tg.name, data, strict, tg.new)
			}
		}
	})
}

// roundTrip decodes data (which must decode) into a private value v,
// re-encodes v with encoding/json and checks that decoding that encoding,
// strictly and leniently, gives v back, up to what omitempty drops (see
// dropOmitted).
func roundTrip(t *testing.T, name string, data []byte, strict bool, fresh func() interface{}) {
	t.Helper()
	v := fresh()
	if err := JSON(data, v, strict); err != nil {
		t.Fatalf("%s: %q decoded once and then failed (strict=%v): %v", name, data, strict, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: decoded %q but cannot re-encode %+v: %v", name, data, v, err)
	}
	dropOmitted(reflect.ValueOf(v))
	for _, strict2 := range []bool{false, true} {
		w := fresh()
		if err := JSON(b, w, strict2); err != nil {
			t.Fatalf("%s: re-encoding of %q is refused (strict=%v): %v\nencoding: %s", name, data, strict2, err, b)
		}
		dropOmitted(reflect.ValueOf(w))
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("%s: round trip of %q changed the value (strict=%v)\nencoding: %s\nfirst  %s\nsecond %s",
				name, data, strict2, b, dump(v), dump(w))
		}
	}
}

// dropOmitted zeroes, in place, every struct field tagged omitempty that
// encoding/json would leave out (its isEmptyValue rule): an empty map or
// slice there comes back as nil, which is no loss that matters to anyone,
// and is not the decoder's doing.
func dropOmitted(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			dropOmitted(v.Elem())
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := v.Field(i)
			if !f.CanSet() {
				continue
			}
			if strings.Contains(t.Field(i).Tag.Get("json"), ",omitempty") && isEmptyValue(f) {
				f.SetZero()
				continue
			}
			dropOmitted(f)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			dropOmitted(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem().Kind() != reflect.Struct {
			for _, k := range v.MapKeys() {
				dropOmitted(v.MapIndex(k)) // pointers and slices: in place
			}
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			dropOmitted(e)
			v.SetMapIndex(k, e)
		}
	}
}

// isEmptyValue is encoding/json's rule for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func dump(v interface{}) string {
	b, _ := json.Marshal(v)
	return fmt.Sprintf("%+v %s", reflect.ValueOf(v).Elem().Interface(), b)
}

// hasFoldedDuplicate reports whether some JSON object in data has two keys
// that decode may treat as the same field: equal after foldKey, or after
// mapping an alias or Go field name to its JSON name (see keyCanon). A list
// of objects counts as one object, as decode merges HCL's repeated blocks.
// It looks at every object, whatever field it lands in, which is wider than
// needed (keys of a Meta map are kept verbatim) but never narrower.
func hasFoldedDuplicate(data []byte) bool {
	var raw interface{}
	if json.Unmarshal(data, &raw) != nil {
		return false
	}
	canon := keyCanon()
	clash := func(seen map[string]string, k string) bool {
		c := foldKey(k)
		if n, ok := canon[c]; ok {
			c = n
		}
		if prev, ok := seen[c]; ok && prev != k {
			return true
		}
		seen[c] = k
		return false
	}
	var walk func(v interface{}) bool
	walk = func(v interface{}) bool {
		switch v := v.(type) {
		case map[string]interface{}:
			seen := make(map[string]string, len(v))
			for k, e := range v {
				if clash(seen, k) || walk(e) {
					return true
				}
			}
		case []interface{}:
			seen := map[string]string{}
			for _, e := range v {
				if m, ok := e.(map[string]interface{}); ok {
					for k := range m {
						if clash(seen, k) {
							return true
						}
					}
				}
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(raw)
}

// keyCanon maps the folded Go name and aliases of every field of the
// decode targets (and the structs inside them) to the folded JSON name.
var keyCanon = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	seen := map[reflect.Type]bool{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			name := strings.Split(sf.Tag.Get("json"), ",")[0]
			if name == "" {
				name = sf.Name
			}
			keys := []string{sf.Name}
			if a := sf.Tag.Get("alias"); a != "" {
				keys = append(keys, strings.Split(a, ",")...)
			}
			for _, k := range keys {
				if foldKey(k) != foldKey(name) {
					out[foldKey(k)] = foldKey(name)
				}
			}
			visit(sf.Type)
		}
	}
	for _, tg := range decodeTargets {
		visit(reflect.TypeOf(tg.new()))
	}
	return out
})

// TestDecodeSeedsRoundTrip runs the fuzz properties' main claims on the seeds
// as plain assertions, and checks that the realistic seeds do decode.
func TestDecodeSeedsRoundTrip(t *testing.T) {
	for _, s := range []string{
		seedAPIClient, seedConfigSnake, seedRegisterCamel, seedCheckSnake,
	} {
		ok := false
		for _, tg := range decodeTargets {
			v := tg.new()
			if err := JSON([]byte(s), v, false); err == nil {
				ok = true
				roundTrip(t, tg.name, []byte(s), false, tg.new)
			}
		}
		if !ok {
			t.Errorf("realistic seed decodes into no target: %s", s)
		}
	}
}

// TestDecodeDuplicateSpellingDeterministic: two spellings of one field, one
// of them null, are refused every time, whatever the map order.
func TestDecodeDuplicateSpellingDeterministic(t *testing.T) {
	body := []byte(`{"name":null,"Name":"web"}`)
	var errs, oks int
	for i := 0; i < 200; i++ {
		if JSON(body, &structs.ServiceDefinition{}, false) != nil {
			errs++
		} else {
			oks++
		}
	}
	if oks > 0 {
		t.Fatalf("decoding %s: %d successes and %d failures over 200 runs, want only failures", body, oks, errs)
	}
}

const (
	seedAPIClient = `{"ID":"web-1","Name":"web","Tags":["v1","primary"],"Port":8080,"Address":"10.0.0.5",` +
		`"Meta":{"version":"1.2.3","Some_Key":"v"},"TaggedAddresses":{"lan":{"Address":"10.0.0.5","Port":8080},` +
		`"wan":{"Address":"1.2.3.4","Port":80}},"EnableTagOverride":false,"Weights":{"Passing":10,"Warning":1},` +
		`"Check":{"CheckID":"web-http","Name":"HTTP","HTTP":"http://localhost:8080/health","Method":"GET",` +
		`"Header":{"X-Api_Key":["k"]},"Interval":"10s","Timeout":"1s","DeregisterCriticalServiceAfter":"90m"},` +
		`"Checks":[{"CheckID":"web-ttl","TTL":"30s","Status":"passing"}]}`
	seedConfigSnake = `{"id":"db","name":"postgres","port":5432,"tags":["primary"],"enable_tag_override":true,` +
		`"tagged_addresses":{"lan":{"address":"10.0.0.1","port":5432}},` +
		`"checks":[{"id":"pg-tcp","tcp":"localhost:5432","interval":"10s","timeout":"2s",` +
		`"success_before_passing":2,"failures_before_critical":3},` +
		`{"id":"pg-script","args":["/bin/check","--fast"],"interval":"30s","tls_skip_verify":true}],` +
		`"connect":{"sidecar_service":{"port":20000}},"proxy":null,"namespace":"default"}`
	seedRegisterCamel = `{"Datacenter":"dc1","ID":"40e4a748-2192-161a-0510-9bf59fe950b5","Node":"foobar",` +
		`"Address":"192.168.10.10","TaggedAddresses":{"lan":"192.168.10.10","wan":"10.0.10.10"},` +
		`"NodeMeta":{"somekey":"somevalue"},"Service":{"ID":"redis1","Service":"redis","Tags":["primary","v1"],` +
		`"Address":"127.0.0.1","TaggedAddresses":{"lan":{"address":"127.0.0.1","port":8000}},` +
		`"Meta":{"redis_version":"4.0"},"Port":8000,"Weights":{"Passing":1,"Warning":1}},` +
		`"Check":{"Node":"foobar","CheckID":"service:redis1","Name":"Redis health check","Notes":"Script based",` +
		`"Status":"passing","ServiceID":"redis1","Definition":{"TCP":"localhost:8888","Interval":"5s",` +
		`"Timeout":"1s","DeregisterCriticalServiceAfter":"30s"}},"SkipNodeUpdate":false}`
	seedCheckSnake = `{"id":"mem","name":"Memory utilization","notes":"x","ttl":"15s","service_id":"web",` +
		`"status":"warning","deregister_critical_service_after":"1h","output_max_size":4096}`
)

var decodeSeeds = []string{
	seedAPIClient,
	seedConfigSnake,
	seedRegisterCamel,
	seedCheckSnake,
	// Minimal and empty bodies.
	`{}`, `null`, ``, `[]`, `""`, `0`, `true`, ` {"name":"w"} `,
	// HCL-ish shapes: blocks as lists of one object, repeated blocks, single
	// values where lists are expected and lists of one where a value is.
	`[{"name":"web","port":80}]`,
	`[{"name":"web"},{"port":80}]`,
	`{"name":"w","check":[{"ttl":"10s"}]}`,
	`{"name":"w","weights":[{"passing":2},{"warning":1}]}`,
	`{"name":"w","port":[8080],"tags":"single","checks":{"id":"c","ttl":"1s"}}`,
	`{"name":["w"],"meta":[{"a":"b"}],"check":{"args":"echo","interval":["5s"]}}`,
	`{"Node":"n","Address":"a","Service":[{"Service":"s"}],"Checks":[{"CheckID":"c"},null]}`,
	`{"name":"w","Check":{"DockerContainerID":"f","Shell":"/bin/sh","ScriptArgs":["x"],"Interval":"1s"}}`,
	// Spellings and aliases.
	`{"NAME":"w","Enable-Tag-Override":true,"check":{"ID":"x","Service_ID":"w","h2ping":"l:1","h2_ping_use_tls":true}}`,
	`{"name":null,"Name":"web"}`,
	`{"name":"w","Name":"x"}`,
	`{"check":{"id":"a","CheckID":"b"}}`,
	`{"check":{"id":null,"CheckID":"b"}}`,
	`[{"name":null},{"Name":"web"}]`,
	`{"name":"w","check":[{"args":["a"]},{"ScriptArgs":null}]}`,
	// Durations in every form: text, bare seconds text, nanoseconds, odd.
	`{"ttl":"10s","interval":"10","timeout":1000000000,"deregister_critical_service_after":""}`,
	`{"ttl":"-9223372036854775808ns","interval":9223372036854775807,"timeout":-1}`,
	`{"ttl":"1.5h","interval":1e9,"timeout":"1e9"}`,
	`{"ttl":{},"interval":[],"timeout":true}`,
	`{"ttl":["1s","2s"]}`,
	// Huge and odd numbers.
	`{"name":"w","port":1e309}`,
	`{"name":"w","port":18446744073709551616,"weights":{"passing":-1e18}}`,
	`{"name":"w","port":80.0,"weights":{"passing":1.5}}`,
	`{"Node":"n","Service":{"Service":"s","CreateIndex":18446744073709551615,"ModifyIndex":-1}}`,
	`{"success_before_passing":9007199254740993,"output_max_size":-0}`,
	// Wrong types everywhere.
	`{"name":5,"port":"eighty","tags":{"a":1},"meta":["x"],"enable_tag_override":"yes"}`,
	`{"Service":"notanobject","Check":7,"Checks":"x","TaggedAddresses":{"lan":5},"NodeMeta":{"k":{"v":1}}}`,
	`{"Header":{"X":"single"},"ScriptArgs":[1,2],"Status":false}`,
	`{"TaggedAddresses":{"lan":[{"Address":"a"},{"Port":1}]}}`,
	// Interface fields with anything in them.
	`{"name":"w","connect":{"native":true,"sidecar_service":{"proxy":{"upstreams":[{"destination_name":"db","local_bind_port":1e3}]}}},"locality":[1,"a",null,{"x":[]}],"proxy":"s"}`,
	// Escapes, unicode, invalid UTF-8, HTML characters.
	"{\"name\":\"w\\u0000<&>\\u2028\",\"meta\":{\"\\ud800\":\"\xff\xfe\"},\"tags\":[\"\xc3\x28\"]}",
	"{\"n\xc3\xa4me\":\"x\",\"name\":\"\\\"quoted\\\"\"}",
	// Deep nesting, in a typed field and in an interface field.
	`{"name":"w","meta":` + strings.Repeat(`{"a":`, 50) + `1` + strings.Repeat(`}`, 50) + `}`,
	`{"name":"w","connect":` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `}`,
	strings.Repeat(`[`, 100) + `{"name":"w"}` + strings.Repeat(`]`, 100),
	// Truncated and trailing garbage.
	`{"name":"w","port":`,
	`{"name":"w"}{"name":"x"}`,
	`{"name":"w"} garbage`,
}
