package gossip

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/beacon-sd/beacon/core/structs"
)

// KeyringTimeout bounds how long a keyring operation waits for members'
// answers.
const KeyringTimeout = 5 * time.Second

// requests tracks the requests this member sent to others (keyring
// operations, its "left" message) and routes the answers that come back.
type requests struct {
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan userMsg
}

// open starts a request expecting up to n answers; close ends it.
func (r *requests) open(n int) (id uint64, answers chan userMsg, close func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[uint64]chan userMsg{}
	}
	r.next++
	id = r.next
	answers = make(chan userMsg, n)
	r.pending[id] = answers
	return id, answers, func() {
		r.mu.Lock()
		delete(r.pending, id)
		r.mu.Unlock()
	}
}

// answer hands an answer to the request waiting for it.
func (r *requests) answer(m userMsg) {
	r.mu.Lock()
	ch := r.pending[m.ID]
	r.mu.Unlock()
	if ch != nil {
		select {
		case ch <- m:
		default:
		}
	}
}

// Keyring lists ("list") or changes ("install", "use", "remove") the
// gossip keys on every alive member and reports what they answered. A change
// is applied here first, then sent to each member over a reliable stream;
// it returns once every member has answered or KeyringTimeout passed, so a
// following "use" never races the "install" before it. The error says how
// many members did not report success; the result holds their messages.
func (p *Pool) Keyring(op, key string) (structs.KeyringResult, error) {
	res := structs.KeyringResult{Keys: map[string]int{}, PrimaryKeys: map[string]int{}, Messages: map[string]string{}}
	switch op {
	case "list":
	case "install", "use", "remove":
		if err := p.keys.apply(op, key); err != nil {
			return res, err
		}
	default:
		return res, fmt.Errorf("unknown keyring operation %q", op)
	}
	self := p.cfg.NodeName
	local := p.keyAnswerFor(op, key, nil)
	local.Node = self
	res.Count(local.Node, local.Keys, local.Primary, local.Error)

	var peers []*memberlist.Node
	alive := map[string]bool{}
	for _, m := range p.Members() {
		alive[m.Name] = m.Status == structs.MemberAlive
	}
	for _, n := range p.ml.Members() {
		if n.Name != self && alive[n.Name] {
			peers = append(peers, n)
		}
	}
	res.NumNodes = 1 + len(peers)
	if len(peers) == 0 {
		return res, res.Err()
	}

	id, answers, done := p.requests.open(len(peers))
	defer done()

	req, _ := json.Marshal(userMsg{Kind: "key-request", ID: id, Node: self, Op: op, Key: key})
	req = append([]byte{msgUser}, req...)
	waiting := map[string]bool{}
	sendErrs := make(chan userMsg, len(peers))
	for _, n := range peers {
		waiting[n.Name] = true
		go func(n *memberlist.Node) {
			if err := p.ml.SendReliable(n, req); err != nil {
				sendErrs <- userMsg{Node: n.Name, Error: "not reached: " + err.Error()}
			}
		}(n)
	}
	timeout := time.NewTimer(KeyringTimeout)
	defer timeout.Stop()
	for len(waiting) > 0 {
		select {
		case a := <-answers:
			if !waiting[a.Node] {
				continue
			}
			delete(waiting, a.Node)
			res.Count(a.Node, a.Keys, a.Primary, a.Error)
		case a := <-sendErrs:
			if waiting[a.Node] {
				delete(waiting, a.Node)
				res.Messages[a.Node] = a.Error
			}
		case <-timeout.C:
			for name := range waiting {
				res.Messages[name] = "no answer within " + KeyringTimeout.String()
			}
			waiting = nil
		case <-p.stopCh:
			return res, fmt.Errorf("the agent is shutting down")
		}
	}
	return res, res.Err()
}

// answerKeyRequest applies a member's keyring request here and answers it.
func (p *Pool) answerKeyRequest(m userMsg) {
	answer := p.keyAnswerFor(m.Op, m.Key, &m)
	var to *memberlist.Node
	for _, n := range p.ml.Members() {
		if n.Name == m.Node {
			to = n
			break
		}
	}
	if to == nil {
		p.logger.Warn("keyring request from an unknown member", "member", m.Node)
		return
	}
	b, _ := json.Marshal(answer)
	if err := p.ml.SendReliable(to, append([]byte{msgUser}, b...)); err != nil {
		p.logger.Warn("cannot answer a keyring request", "member", m.Node, "error", err)
	}
}

// keyAnswerFor applies op (when req is not nil, i.e. it came from another
// member) and describes this member's keyring afterwards.
func (p *Pool) keyAnswerFor(op, key string, req *userMsg) userMsg {
	a := userMsg{Kind: "key-answer", Node: p.cfg.NodeName}
	if req != nil {
		a.ID = req.ID
		if op != "list" {
			if err := p.keys.apply(op, key); err != nil {
				a.Error = err.Error()
				p.logger.Warn("keyring change from another member failed here", "op", op, "from", req.Node, "error", err)
			}
		}
	}
	keys, err := p.Keys()
	if err != nil {
		a.Error = err.Error()
		return a
	}
	a.Keys, a.Primary = keys, keys[0]
	return a
}

// Keys lists this member's installed keys (base64), the primary first.
func (p *Pool) Keys() ([]string, error) {
	k := p.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ml == nil {
		return nil, fmt.Errorf("gossip encryption is not enabled on this agent")
	}
	primary := k.ml.GetPrimaryKey()
	out := []string{base64.StdEncoding.EncodeToString(primary)}
	var rest []string
	for _, key := range k.ml.GetKeys() {
		if string(key) != string(primary) {
			rest = append(rest, base64.StdEncoding.EncodeToString(key))
		}
	}
	sort.Strings(rest)
	return append(out, rest...), nil
}
