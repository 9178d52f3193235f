package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// txn applies a transaction (PUT /v1/txn): a JSON array of up to 128
// operations, each of kind KV, Node, Service, Check or Session. One that
// writes goes through the log as one entry; one of reads and checks only
// is answered by a server as a read, with ?stale or ?consistent. 200 with
// the results when it applied, 409 with one error per failed operation
// when it did not (nothing applied).
func (s *Server) txn(w *httpserver.Response, r *request) (interface{}, error) {
	ops, err := s.decodeTxn(r)
	if err != nil {
		return nil, err
	}
	writes := false
	for _, op := range ops {
		writes = writes || op.IsWrite()
	}
	var resp structs.TxnResponse
	if writes {
		args := structs.TxnRequest{Datacenter: r.query.Get("dc"), Ops: ops}
		args.Token = token(r)
		if resp, err = s.backend.TxnApply(r.Context(), &args); err != nil {
			return nil, err
		}
	} else {
		args := structs.TxnReadRequest{Ops: ops}
		if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
			return nil, err
		}
		var out structs.TxnReadResponse
		if err := s.backend.TxnRead(r.Context(), &args, &out); err != nil {
			return nil, err
		}
		setLeaderMeta(w, &out.QueryMeta)
		resp = out.TxnResponse
	}
	if len(resp.Errors) > 0 {
		resp.Results = nil
		w.WriteHeader(http.StatusConflict)
	} else if resp.Results == nil {
		resp.Results = []*structs.TxnResult{}
	}
	return &resp, nil
}

// setLeaderMeta writes what a read-only transaction reports about itself:
// whether there is a leader and when this server last heard from it (not
// an index: such a transaction cannot block).
func setLeaderMeta(w *httpserver.Response, m *structs.QueryMeta) {
	w.SetHeader("X-Consul-Knownleader", fmt.Sprint(m.KnownLeader))
	w.SetHeader("X-Consul-Lastcontact", fmt.Sprint(m.LastContact.Milliseconds()))
	if m.ResultsFilteredByACLs {
		w.SetHeader("X-Consul-Results-Filtered-By-ACLs", "true")
	}
}

// txnTooLarge answers a transaction body over limits.txn_max_req_len.
func txnTooLarge(n, limit int) error {
	return &codedError{http.StatusRequestEntityTooLarge, fmt.Sprintf(
		"Request body (%d bytes) too large, max size: %d bytes. Transactions are limited by limits.txn_max_req_len (at least limits.kv_max_value_size).", n, limit)}
}

// decodeTxn reads a transaction's body: bad JSON, unknown fields, an
// operation of no kind or of two, and fields beacon cannot honour are
// refused with 400 naming the operation; too many operations, a value
// over limits.kv_max_value_size or a body over limits.txn_max_req_len
// with 413, as Consul does.
func (s *Server) decodeTxn(r *request) ([]*structs.TxnOp, error) {
	for _, p := range []string{"index", "wait"} {
		if _, ok := r.query[p]; ok {
			return nil, badRequest("?%s: a transaction cannot block; read-only transactions take ?stale or ?consistent", p)
		}
	}
	if len(r.Body) > s.maxTxnLen() {
		return nil, txnTooLarge(len(r.Body), s.maxTxnLen())
	}
	body := bytes.TrimSpace(r.Body)
	if len(body) == 0 || body[0] != '[' {
		return nil, badRequest("Failed to parse body: the body must be a JSON array of operations")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, badRequest("Failed to parse body: %v", err)
	}
	if len(raw) > structs.MaxTxnOps {
		return nil, &codedError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Transaction contains too many operations (%d > %d)", len(raw), structs.MaxTxnOps)}
	}
	ops := make([]*structs.TxnOp, len(raw))
	for i, b := range raw {
		var in txnOpIn
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return nil, badRequest("Failed to parse body: operation %d: %v", i, err)
		}
		op, err := in.convert(s.cfg.Datacenter)
		if err != nil {
			return nil, badRequest("Invalid operation %d: %v", i, err)
		}
		if op.KV != nil && len(op.KV.DirEnt.Value) > s.cfg.MaxKVSize {
			return nil, &codedError{http.StatusRequestEntityTooLarge, fmt.Sprintf("Value for key %q is too large (%d > %d bytes)",
				op.KV.DirEnt.Key, len(op.KV.DirEnt.Value), s.cfg.MaxKVSize)}
		}
		ops[i] = op
	}
	return ops, nil
}

// maxTxnLen is the bound on a transaction's body: limits.txn_max_req_len,
// or limits.kv_max_value_size when that is larger, as in Consul.
func (s *Server) maxTxnLen() int { return max(s.cfg.MaxTxnLen, s.cfg.MaxKVSize) }
