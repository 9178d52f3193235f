package dep

import (
	"context"
	"net/url"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/watcher/consul"
)

// KeyPair is a KV entry. For `ls` and `tree`, Key is relative to the
// prefix and Path is the full key.
type KeyPair struct {
	Path        string
	Key         string
	Value       string
	Exists      bool
	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Flags       uint64
	Session     string
}

// KeyQuery is one key, read by `key`, `keyExists` and `keyOrDefault`.
// Its value is *KeyPair, nil when the key does not exist.
type KeyQuery struct{ Key, DC string }

// ParseKey reads "<path>@<dc>".
func ParseKey(s string) (*KeyQuery, error) {
	k, dc, err := splitDC("key", s)
	if err != nil {
		return nil, err
	}
	k = trimSlashes(k)
	if k == "" {
		return nil, badQuery("key", s, "empty key")
	}
	return &KeyQuery{Key: k, DC: dc}, nil
}

func (q *KeyQuery) String() string { return "kv.get(" + q.Key + atDC(q.DC) + ")" }

// Fetch reads /v1/kv/<key>.
func (q *KeyQuery) Fetch(ctx context.Context, c *consul.Client, o consul.QueryOptions) (any, consul.Meta, error) {
	return q.call(o).fetch(ctx, c)
}

// FetchAsync is Fetch with a callback.
func (q *KeyQuery) FetchAsync(ctx context.Context, c *consul.Client, o consul.QueryOptions, done func(any, consul.Meta, error)) {
	q.call(o).start(ctx, c, done)
}

func (q *KeyQuery) call(o consul.QueryOptions) call {
	o.Datacenter = q.DC
	var pairs []*api.KVPair
	return call{path: "/v1/kv/" + escapeKey(q.Key), q: o, out: &pairs, value: func(found bool) (any, error) {
		if !found || len(pairs) == 0 || pairs[0] == nil {
			return (*KeyPair)(nil), nil
		}
		// Only the value and its attributes: a rewrite of the same
		// value is not a change for a template.
		p := keyPair(pairs[0], "")
		p.CreateIndex, p.ModifyIndex, p.LockIndex = 0, 0, 0
		return p, nil
	}}
}

// PrefixQuery is a key prefix, read by `ls`, `safeLs`, `tree` and
// `safeTree`. Its value is []*KeyPair in key order, every key under the
// prefix; the functions pick what they show.
type PrefixQuery struct{ Prefix, DC string }

// ParsePrefix reads "<prefix>@<dc>".
func ParsePrefix(s string) (*PrefixQuery, error) {
	p, dc, err := splitDC("prefix", s)
	if err != nil {
		return nil, err
	}
	return &PrefixQuery{Prefix: trimSlashes(p), DC: dc}, nil
}

func (q *PrefixQuery) String() string { return "kv.list(" + q.Prefix + atDC(q.DC) + ")" }

// Fetch reads /v1/kv/<prefix>?recurse.
func (q *PrefixQuery) Fetch(ctx context.Context, c *consul.Client, o consul.QueryOptions) (any, consul.Meta, error) {
	return q.call(o).fetch(ctx, c)
}

// FetchAsync is Fetch with a callback.
func (q *PrefixQuery) FetchAsync(ctx context.Context, c *consul.Client, o consul.QueryOptions, done func(any, consul.Meta, error)) {
	q.call(o).start(ctx, c, done)
}

func (q *PrefixQuery) call(o consul.QueryOptions) call {
	o.Datacenter = q.DC
	var pairs []*api.KVPair
	return call{path: "/v1/kv/" + escapeKey(q.Prefix), params: url.Values{"recurse": {""}}, q: o, out: &pairs,
		value: func(bool) (any, error) {
			out := make([]*KeyPair, 0, len(pairs))
			for _, p := range pairs {
				if p != nil {
					out = append(out, keyPair(p, q.Prefix))
				}
			}
			return out, nil
		}}
}

func keyPair(p *api.KVPair, prefix string) *KeyPair {
	key := p.Key
	if prefix != "" {
		key = strings.TrimLeft(strings.TrimPrefix(key, prefix), "/")
	}
	return &KeyPair{
		Path: p.Key, Key: key, Value: string(p.Value), Exists: true,
		CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex, LockIndex: p.LockIndex,
		Flags: p.Flags, Session: p.Session,
	}
}

// escapeKey escapes each segment of a key path, keeping the slashes.
func escapeKey(k string) string {
	parts := strings.Split(k, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
