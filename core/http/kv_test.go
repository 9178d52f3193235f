package http_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

func TestKVWithOfficialClient(t *testing.T) {
	a := testagent.Start(t)
	kv := a.Client.KV()

	if _, err := kv.Put(&api.KVPair{Key: "hello/key", Value: []byte("test_data"), Flags: 42}, nil); err != nil {
		t.Fatal(err)
	}
	p, meta, err := kv.Get("hello/key", nil)
	if err != nil || p == nil {
		t.Fatalf("get: %v %v", p, err)
	}
	if string(p.Value) != "test_data" || p.Flags != 42 || p.CreateIndex == 0 || meta.LastIndex != p.ModifyIndex {
		t.Fatalf("get: %+v meta %+v", p, meta)
	}
	if !meta.KnownLeader {
		t.Error("X-Consul-KnownLeader not true")
	}

	// CAS: a stale index loses, the current one wins.
	ok, _, err := kv.CAS(&api.KVPair{Key: "hello/key", Value: []byte("x"), ModifyIndex: p.ModifyIndex + 100}, nil)
	if err != nil || ok {
		t.Fatalf("stale CAS: ok=%v err=%v", ok, err)
	}
	ok, _, err = kv.CAS(&api.KVPair{Key: "hello/key", Value: []byte("y"), ModifyIndex: p.ModifyIndex}, nil)
	if err != nil || !ok {
		t.Fatalf("CAS: ok=%v err=%v", ok, err)
	}
	ok, _, _ = kv.CAS(&api.KVPair{Key: "hello/new", Value: []byte("n"), ModifyIndex: 0}, nil)
	if !ok {
		t.Fatal("CAS with index 0 on a new key failed")
	}

	for _, k := range []string{"hello/sub/a", "hello/sub/b", "hellox"} {
		if _, err := kv.Put(&api.KVPair{Key: k, Value: []byte(k)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	pairs, _, err := kv.List("hello/", nil)
	if err != nil || len(pairs) != 4 {
		t.Fatalf("list hello/: %d pairs, %v", len(pairs), err)
	}
	keys, _, err := kv.Keys("hello/", "/", nil)
	if err != nil || strings.Join(keys, ",") != "hello/key,hello/new,hello/sub/" {
		t.Fatalf("keys with separator: %v %v", keys, err)
	}

	// delete-cas with a stale index leaves the key.
	cur, _, _ := kv.Get("hello/new", nil)
	ok, _, _ = kv.DeleteCAS(&api.KVPair{Key: "hello/new", ModifyIndex: cur.ModifyIndex + 1}, nil)
	if ok {
		t.Fatal("stale delete-cas succeeded")
	}
	if _, err := kv.DeleteTree("hello/", nil); err != nil {
		t.Fatal(err)
	}
	pairs, meta, _ = kv.List("hello/", nil)
	if len(pairs) != 0 || meta.LastIndex == 0 {
		t.Fatalf("after delete-tree: %d pairs, index %d", len(pairs), meta.LastIndex)
	}
	if p, _, _ := kv.Get("hellox", nil); p == nil {
		t.Fatal("delete-tree hello/ removed hellox")
	}
}

func TestKVRawAndErrors(t *testing.T) {
	a := testagent.Start(t)
	do := func(method, path string, body []byte) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, a.URL(path), bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := do("PUT", "/v1/kv/raw/key", []byte("hello\x00bytes"))
	if resp.StatusCode != 200 || strings.TrimSpace(body) != "true" {
		t.Fatalf("put: %d %q", resp.StatusCode, body)
	}
	resp, body = do("GET", "/v1/kv/raw/key?raw", nil)
	if body != "hello\x00bytes" {
		t.Fatalf("raw get: %q", body)
	}
	if _, body = do("GET", "/v1/kv/raw/key?pretty", nil); !strings.HasPrefix(body, "[\n    {") || !strings.HasSuffix(body, "}\n]\n") {
		t.Fatalf("pretty get: %q", body)
	}

	cases := []struct {
		name, method, path string
		body               []byte
		code               int
		want               string
	}{
		{"missing key has an index", "GET", "/v1/kv/does/not/exist", nil, 404, ""},
		{"value over 512 KiB", "PUT", "/v1/kv/big", bytes.Repeat([]byte("x"), 512*1024+1), 413, "max size"},
		{"value of exactly 512 KiB", "PUT", "/v1/kv/big", bytes.Repeat([]byte("x"), 512*1024), 200, "true"},
		{"non-numeric index", "GET", "/v1/kv/raw/key?index=abc", nil, 400, "index"},
		{"bad wait", "GET", "/v1/kv/raw/key?index=1&wait=forever", nil, 400, "wait"},
		{"NUL byte in key", "PUT", "/v1/kv/a%00b", []byte("v"), 400, "NUL"},
		{"key too long", "PUT", "/v1/kv/" + strings.Repeat("k", 5000), []byte("v"), 400, "limit"},
		{"dot-dot key stored as is", "PUT", "/v1/kv/a/../b", []byte("v"), 200, "true"},
		{"missing key name", "PUT", "/v1/kv/", []byte("v"), 400, "Missing key"},
		{"bad flags", "PUT", "/v1/kv/f?flags=-1", []byte("v"), 400, "flags"},
		{"stale and consistent", "GET", "/v1/kv/raw/key?stale&consistent", nil, 400, "conflicting"},
		{"wrong method", "PATCH", "/v1/kv/raw/key", nil, 405, "not allowed"},
		{"unknown endpoint", "GET", "/v1/nope", nil, 404, "not a beacon API endpoint"},
	}
	for _, c := range cases {
		resp, body := do(c.method, c.path, c.body)
		if resp.StatusCode != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %q, want %d containing %q", c.name, resp.StatusCode, body, c.code, c.want)
		}
		if c.code == 404 && c.want == "" && resp.Header.Get("X-Consul-Index") == "" {
			t.Errorf("%s: no X-Consul-Index on 404", c.name)
		}
	}
	// The dot-dot key is readable under its own name, and nothing leaked
	// to the cleaned path.
	if p, _, _ := a.Client.KV().Get("a/../b", nil); p == nil {
		t.Error("a/../b not stored under its name")
	}
	if p, _, _ := a.Client.KV().Get("b", nil); p != nil {
		t.Error("a/../b was stored as b")
	}
	if p, _, _ := a.Client.KV().Get("big", nil); p == nil || len(p.Value) != 512*1024 {
		t.Error("the failed oversize PUT damaged the key")
	}
}
