package http

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/beacon-sd/beacon/core/server"
	"github.com/beacon-sd/beacon/core/structs"
)

func (s *Server) kv(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	key := tail(r, "/v1/kv/")
	if err := server.ValidateKey(key); err != nil {
		return nil, badRequest("Invalid key: %v", err)
	}
	switch r.Method {
	case put, pst:
		return s.kvPut(w, r, key)
	case del:
		return s.kvDelete(r, key)
	}
	v := r.URL.Query()
	if _, ok := v["keys"]; ok {
		return s.kvKeys(w, r, key)
	}
	if _, ok := v["recurse"]; ok {
		return s.kvList(w, r, key)
	}
	return s.kvGet(w, r, key)
}

func (s *Server) kvGet(w http.ResponseWriter, r *http.Request, key string) (interface{}, error) {
	args := structs.KeyRequest{Key: key}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedDirEntries
	defer s.blocking(&args.QueryOptions)()
	if err := s.backend.KVGet(r.Context(), &args, &out); err != nil {
		return nil, err
	}
	setMeta(w, &out.QueryMeta)
	if len(out.Entries) == 0 {
		w.WriteHeader(http.StatusNotFound)
		return nil, nil
	}
	if _, ok := r.URL.Query()["raw"]; ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(out.Entries[0].Value)
		return nil, nil
	}
	return out.Entries, nil
}

func (s *Server) kvList(w http.ResponseWriter, r *http.Request, prefix string) (interface{}, error) {
	args := structs.KeyListRequest{Prefix: prefix}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedDirEntries
	defer s.blocking(&args.QueryOptions)()
	if err := s.backend.KVList(r.Context(), &args, &out); err != nil {
		return nil, err
	}
	setMeta(w, &out.QueryMeta)
	if len(out.Entries) == 0 {
		w.WriteHeader(http.StatusNotFound)
		return nil, nil
	}
	return out.Entries, nil
}

func (s *Server) kvKeys(w http.ResponseWriter, r *http.Request, prefix string) (interface{}, error) {
	args := structs.KeyListRequest{Prefix: prefix, Separator: r.URL.Query().Get("separator")}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedKeyList
	defer s.blocking(&args.QueryOptions)()
	if err := s.backend.KVKeys(r.Context(), &args, &out); err != nil {
		return nil, err
	}
	setMeta(w, &out.QueryMeta)
	if len(out.Keys) == 0 {
		w.WriteHeader(http.StatusNotFound)
		return nil, nil
	}
	return out.Keys, nil
}

func (s *Server) kvPut(w http.ResponseWriter, r *http.Request, key string) (interface{}, error) {
	if key == "" {
		return nil, badRequest("Missing key name")
	}
	v := r.URL.Query()
	args := structs.KVSRequest{Datacenter: v.Get("dc"), Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key}}
	args.Token = token(r)
	if f := v.Get("flags"); f != "" {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, badRequest("Invalid flags: %q is not an unsigned integer", f)
		}
		args.DirEnt.Flags = n
	}
	if c, ok := v["cas"]; ok {
		n, err := strconv.ParseUint(firstOf(c), 10, 64)
		if err != nil {
			return nil, badRequest("Invalid cas index: %q", firstOf(c))
		}
		args.Op, args.DirEnt.ModifyIndex = structs.KVCAS, n
	}
	if id := v.Get("acquire"); id != "" {
		args.Op, args.DirEnt.Session = structs.KVLock, id
	}
	if id := v.Get("release"); id != "" {
		if args.Op == structs.KVLock {
			return nil, badRequest("Conflicting flags: acquire and release")
		}
		args.Op, args.DirEnt.Session = structs.KVUnlock, id
	}
	if r.ContentLength > int64(s.cfg.MaxKVSize) {
		return nil, tooLarge(r.ContentLength, s.cfg.MaxKVSize)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.cfg.MaxKVSize)+1))
	if err != nil {
		return nil, badRequest("reading value: %v", err)
	}
	if len(body) > s.cfg.MaxKVSize {
		return nil, tooLarge(int64(len(body)), s.cfg.MaxKVSize)
	}
	args.DirEnt.Value = body
	ok, err := s.backend.KVApply(r.Context(), &args)
	if err != nil {
		return nil, err
	}
	s.metrics.KVApplies.Inc()
	return ok, nil
}

func tooLarge(n int64, max int) error {
	what := fmt.Sprintf("%d bytes", n)
	if n > int64(max) && n == int64(max)+1 {
		what = "more than the limit"
	}
	return &codedError{http.StatusRequestEntityTooLarge,
		fmt.Sprintf("Request body (%s) too large, max size: %d bytes. KV values are limited to %d bytes.", what, max, max)}
}

func (s *Server) kvDelete(r *http.Request, key string) (interface{}, error) {
	v := r.URL.Query()
	args := structs.KVSRequest{Datacenter: v.Get("dc"), Op: structs.KVDelete, DirEnt: structs.DirEntry{Key: key}}
	args.Token = token(r)
	if boolParam(r, "recurse") {
		args.Op = structs.KVDeleteTree
	} else if key == "" {
		return nil, badRequest("Missing key name")
	}
	if c, ok := v["cas"]; ok {
		if args.Op == structs.KVDeleteTree {
			return nil, badRequest("Conflicting flags: cas and recurse")
		}
		n, err := strconv.ParseUint(firstOf(c), 10, 64)
		if err != nil {
			return nil, badRequest("Invalid cas index: %q", firstOf(c))
		}
		args.Op, args.DirEnt.ModifyIndex = structs.KVDeleteCAS, n
	}
	ok, err := s.backend.KVApply(r.Context(), &args)
	if err != nil {
		return nil, err
	}
	s.metrics.KVApplies.Inc()
	return ok, nil
}

func firstOf(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
