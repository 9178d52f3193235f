package http

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/server"
	"github.com/beacon-sd/beacon/core/structs"
)

func (s *Server) kv(w *httpserver.Response, r *request) (interface{}, error) {
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
	v := r.query
	if _, ok := v["keys"]; ok {
		return s.kvKeys(w, r, key)
	}
	if _, ok := v["recurse"]; ok {
		return s.kvList(w, r, key)
	}
	return s.kvGet(w, r, key)
}

func (s *Server) kvGet(w *httpserver.Response, r *request, key string) (interface{}, error) {
	args := structs.KeyRequest{Key: key}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedDirEntries
	if err := read(s, w, r, &args, &out, s.backend.KVGet); err != nil {
		return nil, err
	}
	if len(out.Entries) == 0 {
		return nil, errEmptyNotFound
	}
	if _, ok := r.query["raw"]; ok {
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		w.SetHeader("X-Content-Type-Options", "nosniff")
		w.Write(out.Entries[0].Value)
		return nil, nil
	}
	return dirEntries(out.Entries), nil
}

func (s *Server) kvList(w *httpserver.Response, r *request, prefix string) (interface{}, error) {
	args := structs.KeyListRequest{Prefix: prefix}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedDirEntries
	if err := read(s, w, r, &args, &out, s.backend.KVList); err != nil {
		return nil, err
	}
	if len(out.Entries) == 0 {
		return nil, errEmptyNotFound
	}
	return dirEntries(out.Entries), nil
}

func (s *Server) kvKeys(w *httpserver.Response, r *request, prefix string) (interface{}, error) {
	args := structs.KeyListRequest{Prefix: prefix, Separator: r.query.Get("separator")}
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedKeyList
	if err := read(s, w, r, &args, &out, s.backend.KVKeys); err != nil {
		return nil, err
	}
	if len(out.Keys) == 0 {
		if prefix != "" {
			return nil, errEmptyNotFound
		}
		return []string{}, nil // the root is listed even when empty
	}
	return out.Keys, nil
}

func (s *Server) kvPut(w *httpserver.Response, r *request, key string) (interface{}, error) {
	if key == "" {
		return nil, badRequest("Missing key name")
	}
	v := r.query
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
	if len(r.Body) > s.cfg.MaxKVSize {
		return nil, tooLarge(len(r.Body), s.cfg.MaxKVSize)
	}
	args.DirEnt.Value = r.Body
	ok, err := s.backend.KVApply(r.Context(), &args)
	if err != nil {
		return nil, err
	}
	s.metrics.KVApplies.Inc()
	return ok, nil
}

func tooLarge(n, max int) error {
	return &codedError{http.StatusRequestEntityTooLarge,
		fmt.Sprintf("Request body (%d bytes) too large, max size: %d bytes. KV values are limited to %d bytes (limits.kv_max_value_size).", n, max, max)}
}

func (s *Server) kvDelete(r *request, key string) (interface{}, error) {
	v := r.query
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
