package http_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// fuzzMethods are the methods FuzzHTTPRequest sends; its first argument
// picks one (modulo the length).
var fuzzMethods = []string{
	http.MethodGet, http.MethodPut, http.MethodDelete,
	http.MethodPost, http.MethodHead, http.MethodPatch,
}

const (
	mGET = iota
	mPUT
	mDELETE
	mPOST
	mHEAD
	mPATCH
)

// fuzzWait bounds every blocking query the fuzzer sends. The handler's
// default wait is 5 minutes (10 at most), which would stall the fuzzer on
// any input carrying ?index= equal to the current index.
const fuzzWait = "50ms"

// fuzzNode is the test agent's node name, fixed so that seeds can name it
// and so that every fuzz worker process sees the same seeds.
const fuzzNode = "fuzz-node"

// FuzzHTTPRequest sends arbitrary requests to the whole API through a real
// loopback connection to a test agent and checks that:
//
//   - a complete HTTP response arrives within 5 seconds;
//   - its status is one the API legitimately answers (legitStatus): 200,
//     301/302 into /ui/ (for "/", "/ui" and the UI's own redirects), 400,
//     404, 405, 413 for oversized bodies, and 500 only for an unknown ?dc=
//     ("No path to datacenter", as Consul answers). 403 (no ACLs here), 429
//     (one connection at a time) and any other 500 are failures: the
//     latter is how a handler panic shows (Serve recovers it and answers
//     "internal error");
//   - a JSON response body is valid JSON;
//   - afterwards the agent still answers GET /v1/status/leader.
//
// The request is written by hand (not net/http's client) so that the path
// and query reach the server exactly as fuzzed, invalid escapes included.
// Only what would break the request's framing is percent-escaped: bytes up
// to space, DEL, '#', and '?' in the path (which would start the query).
// The path always starts with "/": request-line parsing has its own fuzzer
// (httpserver.FuzzParseHead).
//
// Blocking queries: the query string always starts with wait=50ms, before
// the fuzzed one. The API reads the first value of a repeated parameter
// (url.Values.Get), so a fuzzed wait= never takes effect and any ?index=
// query returns within ~53ms (the wait plus up to 1/16 jitter). A fuzzed
// wait still reaches url.ParseQuery, so its parsing is exercised.
//
// The literal @SESSION@ anywhere in the path, query or body is replaced by
// the ID of a live session (see liveSession), so that session and lock code
// runs on a real session.
//
// The agent runs with the web UI on, since Serve routes /ui/ too.
//
// The agent lives across inputs, so what one input registers (services,
// checks, sessions, keys, maintenance mode) is there for the next: that
// reaches more code, but a failure may need the inputs before it to
// reproduce.
func FuzzHTTPRequest(f *testing.F) {
	logs := &agentLogs{F: f}
	a := testagent.Start(logs, testagent.WithJSON(`{"node_name":"`+fuzzNode+`","ui":true}`))
	for _, s := range httpSeeds {
		f.Add(s.m, s.path, s.query, []byte(s.body))
	}
	sess := &liveSession{a: a}
	f.Fuzz(func(t *testing.T, m byte, path, query string, body []byte) {
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		if sessionRef(path, query, body) {
			id := sess.id(t)
			path = strings.ReplaceAll(path, sessionPlaceholder, id)
			query = strings.ReplaceAll(query, sessionPlaceholder, id)
			body = bytes.ReplaceAll(body, []byte(sessionPlaceholder), []byte(id))
		}
		target := fuzzTarget(path, query)
		resp, rbody, err := rawRequest(a.HTTPAddr, method, target, body, 5*time.Second)
		if err != nil {
			logs.dump(t)
			t.Fatalf("%s %s (%d-byte body): no response: %v", method, target, len(body), err)
		}
		if method == http.MethodHead && resp.StatusCode == http.StatusInternalServerError {
			// A HEAD answer has no body to tell which 500 it is: ask the
			// same as GET (HEAD is served as GET, and reads change nothing).
			resp, rbody, err = rawRequest(a.HTTPAddr, http.MethodGet, target, body, 5*time.Second)
			if err != nil {
				t.Fatalf("GET %s (after a HEAD answered 500): no response: %v", target, err)
			}
		}
		if why := legitStatus(resp, rbody, body); why != "" {
			logs.dump(t)
			t.Fatalf("%s %s (body %q): %s: status %d, body %q", method, target, clip(body), why, resp.StatusCode, clip(rbody))
		}
		if method != http.MethodHead && resp.StatusCode == http.StatusOK &&
			strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !json.Valid(rbody) {
			t.Fatalf("%s %s: invalid JSON in a 200 response: %q", method, target, clip(rbody))
		}
		alive(t, a.HTTPAddr, method+" "+target)
	})
}

// sessionPlaceholder in a fuzzed path, query or body stands for the ID of a
// live session, which the fuzzer could never guess: it lets inputs reach
// session info/renew/destroy and KV acquire/release on a real session.
const sessionPlaceholder = "@SESSION@"

func sessionRef(path, query string, body []byte) bool {
	return strings.Contains(path, sessionPlaceholder) || strings.Contains(query, sessionPlaceholder) ||
		bytes.Contains(body, []byte(sessionPlaceholder))
}

// liveSession is a session on the fuzz agent, created again when an input
// destroyed it.
type liveSession struct {
	a   *testagent.Agent
	cur string
}

func (l *liveSession) id(t *testing.T) string {
	if l.cur != "" {
		if info, _, err := l.a.Client.Session().Info(l.cur, nil); err == nil && info != nil {
			return l.cur
		}
	}
	id, _, err := l.a.Client.Session().Create(&api.SessionEntry{Name: "fuzz"}, nil)
	if err != nil {
		// Inputs can legitimately make this fail (a critical check on
		// the node): the input then runs with an unknown session ID.
		t.Logf("creating the fuzz session: %v", err)
		return "00000000-0000-4000-8000-000000000000"
	}
	l.cur = id
	return id
}

// agentLogs is the testing.TB the fuzzer's agent runs with. testagent sends
// the agent's log to t.Log, but testing.F forbids f.Log once f.Fuzz runs
// (it panics, inside the handler that was logging). Everything else goes to
// the F, whose Cleanup stops the agent; log lines are kept (the last
// maxLogLines) and shown when an input fails.
type agentLogs struct {
	*testing.F
	mu    sync.Mutex
	lines []string
}

const maxLogLines = 50

func (l *agentLogs) Log(args ...interface{}) { l.keep(fmt.Sprintln(args...)) }

func (l *agentLogs) Logf(format string, args ...interface{}) { l.keep(fmt.Sprintf(format, args...)) }

func (l *agentLogs) keep(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == maxLogLines {
		l.lines = append(l.lines[:0], l.lines[1:]...)
	}
	l.lines = append(l.lines, strings.TrimRight(s, "\n"))
}

func (l *agentLogs) dump(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		t.Log("agent: " + s)
	}
}

// alive checks that the agent still serves a trivial read.
func alive(t testing.TB, addr, after string) {
	t.Helper()
	resp, rbody, err := rawRequest(addr, http.MethodGet, "/v1/status/leader", nil, 5*time.Second)
	if err != nil {
		t.Fatalf("after %s: agent does not answer GET /v1/status/leader: %v", after, err)
	}
	var leader string
	if resp.StatusCode != http.StatusOK || json.Unmarshal(rbody, &leader) != nil || leader == "" {
		t.Fatalf("after %s: GET /v1/status/leader answered %d %q", after, resp.StatusCode, clip(rbody))
	}
}

// legitStatus returns why a response's status is not one the API should
// give, or "" when it is fine.
func legitStatus(resp *http.Response, rbody, reqBody []byte) string {
	switch resp.StatusCode {
	case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		return ""
	case http.StatusMovedPermanently, http.StatusFound:
		if strings.HasPrefix(resp.Header.Get("Location"), "/ui/") {
			return "" // "/" and "/ui" go to the UI, and the UI to its pages
		}
		return "redirect elsewhere than the UI"
	case http.StatusRequestEntityTooLarge:
		if len(reqBody) > 512<<10 {
			return ""
		}
		return "413 for a small body"
	case http.StatusInternalServerError:
		if bytes.HasPrefix(rbody, []byte("No path to datacenter")) {
			return "" // unknown ?dc=: Consul answers 500 too
		}
		return "internal server error"
	}
	return "unexpected status"
}

// fuzzTarget builds the request-target: "/" + path, then wait=50ms and the
// fuzzed query, escaping only what would break the request line.
func fuzzTarget(path, query string) string {
	var b strings.Builder
	b.WriteByte('/')
	escapeInto(&b, strings.TrimPrefix(path, "/"), "?#")
	b.WriteString("?wait=" + fuzzWait)
	if query != "" {
		b.WriteByte('&')
		escapeInto(&b, query, "#")
	}
	return b.String()
}

func escapeInto(b *strings.Builder, s, extra string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte(extra, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
}

// rawRequest sends one request on a new connection and reads the whole
// response, all within timeout.
func rawRequest(addr, method, target string, body []byte, timeout time.Duration) (*http.Response, []byte, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		method, target, addr, len(body))
	b.Write(body)
	if _, err := c.Write(b.Bytes()); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	rbody, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the %d response's body: %w", resp.StatusCode, err)
	}
	return resp, rbody, nil
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// TestFuzzHTTPRequestHelpers pins the target building the fuzzer relies on.
func TestFuzzHTTPRequestHelpers(t *testing.T) {
	cases := []struct{ path, query, want string }{
		{"/v1/kv/a", "index=5", "/v1/kv/a?wait=50ms&index=5"},
		{"v1/kv/a b?c#d", "", "/v1/kv/a%20b%3Fc%23d?wait=50ms"},
		{"/v1/kv/%zz", "x=a b&wait=10m#", "/v1/kv/%zz?wait=50ms&x=a%20b&wait=10m%23"},
		{"", "", "/?wait=50ms"},
	}
	for _, c := range cases {
		if got := fuzzTarget(c.path, c.query); got != c.want {
			t.Errorf("fuzzTarget(%q, %q) = %q, want %q", c.path, c.query, got, c.want)
		}
	}
}

type httpSeed struct {
	m           byte
	path, query string
	body        string
}

const (
	seedServiceBody = `{"ID":"web-1","Name":"web","Tags":["v1"],"Port":8080,"Address":"127.0.0.1",` +
		`"Meta":{"version":"1"},"Weights":{"Passing":10,"Warning":1},"EnableTagOverride":true,` +
		`"Check":{"CheckID":"web-ttl","Name":"web ttl","TTL":"30s","Status":"passing"},` +
		`"Checks":[{"CheckID":"web-http","HTTP":"http://127.0.0.1:1/health","Interval":"10s","Timeout":"1s"}]}`
	seedServiceSnake = `{"id":"db","name":"db","port":5432,"tags":["primary"],"enable_tag_override":true,` +
		`"check":{"id":"db-ttl","ttl":"1m","deregister_critical_service_after":"90m"},"connect":{"sidecar_service":{}}}`
	seedRegisterBody = `{"Datacenter":"dc1","ID":"40e4a748-2192-161a-0510-9bf59fe950b5","Node":"ext",` +
		`"Address":"192.168.10.10","TaggedAddresses":{"lan":"192.168.10.10","wan":"10.0.10.10"},` +
		`"NodeMeta":{"rack":"r1"},"Service":{"ID":"redis1","Service":"redis","Tags":["primary"],` +
		`"Address":"127.0.0.1","Meta":{"v":"4"},"Port":8000},` +
		`"Check":{"Node":"ext","CheckID":"service:redis1","Name":"Redis","Status":"passing","ServiceID":"redis1",` +
		`"Definition":{"TCP":"localhost:8888","Interval":"5s","Timeout":"1s"}},"SkipNodeUpdate":false}`
	seedCheckBody = `{"ID":"mem","Name":"Memory","Notes":"n","TTL":"15s","Status":"warning"}`
)

var httpSeeds = []httpSeed{
	// KV.
	{mGET, "/v1/kv/foo", "", ""},
	{mGET, "/v1/kv/foo", "raw", ""},
	{mGET, "/v1/kv/", "recurse&pretty", ""},
	{mGET, "/v1/kv/app", "keys&separator=/", ""},
	{mGET, "/v1/kv/foo", "index=1&wait=10m&stale", ""},
	{mGET, "/v1/kv/foo", "index=18446744073709551615", ""},
	{mGET, "/v1/kv/foo", "index=-1", ""},
	{mGET, "/v1/kv/foo", "stale&consistent", ""},
	{mGET, "/v1/kv/foo", "max_stale=bogus&filter=Key==x", ""},
	{mGET, "/v1/kv/foo", "dc=dc2", ""},
	{mHEAD, "/v1/kv/foo", "", ""},
	{mPUT, "/v1/kv/foo", "", "bar"},
	{mPUT, "/v1/kv/app/config/db", "flags=42&token=abc", `{"json":"value"}`},
	{mPUT, "/v1/kv/foo", "cas=0", "x"},
	{mPUT, "/v1/kv/foo", "cas=x&flags=-1", "x"},
	{mPUT, "/v1/kv/lock", "acquire=40e4a748-2192-161a-0510-9bf59fe950b5", "held"},
	{mPUT, "/v1/kv/lock", "release=40e4a748-2192-161a-0510-9bf59fe950b5", ""},
	{mPUT, "/v1/kv/lock", "acquire=a&release=b", ""},
	{mPOST, "/v1/kv/", "", "no key"},
	{mPUT, "/v1/kv/a%00b", "", "nul"},
	{mPUT, "/v1/kv/%zz", "", ""},
	{mDELETE, "/v1/kv/foo", "", ""},
	{mDELETE, "/v1/kv/app", "recurse", ""},
	{mDELETE, "/v1/kv/foo", "cas=3", ""},
	{mDELETE, "/v1/kv/", "recurse=false", ""},
	{mDELETE, "/v1/kv/app", "recurse&cas=1", ""},
	{mPATCH, "/v1/kv/foo", "", "x"},
	// Catalog.
	{mPUT, "/v1/catalog/register", "", seedRegisterBody},
	{mPUT, "/v1/catalog/register", "dc=dc1", `{"Node":"n2","Address":"10.0.0.2","Checks":[{"CheckID":"c","Status":"bogus"}]}`},
	{mPOST, "/v1/catalog/register", "", `{"Node":"n3","SkipNodeUpdate":true,"Service":{"Service":"s","Port":70000}}`},
	{mPUT, "/v1/catalog/register", "", `{"Node":`},
	{mPUT, "/v1/catalog/register", "", ``},
	{mPUT, "/v1/catalog/deregister", "", `{"Node":"ext","ServiceID":"redis1"}`},
	{mPUT, "/v1/catalog/deregister", "", `{"Node":"ext","CheckID":"service:redis1"}`},
	{mPUT, "/v1/catalog/deregister", "", `{"Node":"ext"}`},
	{mGET, "/v1/catalog/datacenters", "", ""},
	{mGET, "/v1/catalog/nodes", "node-meta=rack:r1&node-meta=bad", ""},
	{mGET, "/v1/catalog/services", "index=1&node-meta=rack:r1", ""},
	{mGET, "/v1/catalog/service/redis", "tag=primary&tag=v1&passing", ""},
	{mGET, "/v1/catalog/service/", "", ""},
	{mGET, "/v1/catalog/node/" + fuzzNode, "", ""},
	{mGET, "/v1/catalog/node/missing", "", ""},
	{mGET, "/v1/catalog/node-services/ext", "", ""},
	{mGET, "/v1/catalog/node-services/", "", ""},
	{mGET, "/v1/catalog/nodes", "filter=Meta.rack%20%3D%3D%20r1%20and%20Node%20matches%20%22^e%22", ""},
	{mGET, "/v1/catalog/services", "filter=%22primary%22%20in%20ServiceTags&index=1", ""},
	{mGET, "/v1/catalog/service/redis", "filter=ServiceMeta.v%20!%3D%20%224%22%20or%20(ServicePort%20%3D%3D%208000", ""},
	{mGET, "/v1/catalog/node-services/ext", "filter=Tags%20is%20empty", ""},
	// Health.
	{mGET, "/v1/health/node/" + fuzzNode, "", ""},
	{mGET, "/v1/health/node/", "", ""},
	{mGET, "/v1/health/checks/web", "index=2", ""},
	{mGET, "/v1/health/state/critical", "", ""},
	{mGET, "/v1/health/state/any", "node-meta=rack:r1", ""},
	{mGET, "/v1/health/state/bogus", "", ""},
	{mGET, "/v1/health/service/web", "passing=true&tag=v1", ""},
	{mGET, "/v1/health/service/web", "passing=maybe&index=1", ""},
	{mGET, "/v1/health/service/web", "filter=Checks.Status%20%3D%3D%20passing%20and%20Service.Meta.version%20%3D%3D%201", ""},
	{mGET, "/v1/health/state/any", "filter=ServiceTags%20%3D%3D%20x", ""},
	// Agent.
	{mGET, "/v1/agent/self", "", ""},
	{mGET, "/v1/agent/members", "wan", ""},
	{mGET, "/v1/agent/services", "", ""},
	{mGET, "/v1/agent/services", "filter=Meta.version%20%3D%3D%20%221%22%20and%20%22v1%22%20in%20Tags", ""},
	{mGET, "/v1/agent/checks", "filter=Status%20matches%20%22(%22", ""},
	{mGET, "/v1/agent/members", "filter=Tags[%22dc%22]%20%3D%3D%20dc1", ""},
	{mPUT, "/v1/agent/service/register", "", seedServiceBody},
	{mPUT, "/v1/agent/service/register", "replace-existing-checks=true", seedServiceSnake},
	{mPUT, "/v1/agent/service/register", "", `{"Name":"bad","Port":-1,"Meta":{"":"x"}}`},
	{mPUT, "/v1/agent/service/register", "", `{"Name":"scr","Check":{"Args":["/bin/true"],"Interval":"1s"}}`},
	{mPUT, "/v1/agent/service/register", "", `{"Name":"w","Weights":{"Passing":0}}`},
	{mPUT, "/v1/agent/service/register", "", `[1,2,3]`},
	{mGET, "/v1/agent/service/web-1", "", ""},
	{mGET, "/v1/agent/service/", "", ""},
	{mPUT, "/v1/agent/service/maintenance/web-1", "enable=true&reason=fuzz", ""},
	{mPUT, "/v1/agent/service/maintenance/web-1", "enable=nope", ""},
	{mPUT, "/v1/agent/service/maintenance/missing", "enable=false", ""},
	{mPUT, "/v1/agent/service/deregister/web-1", "", ""},
	{mPUT, "/v1/agent/service/deregister/redis1", "", ""},
	{mGET, "/v1/agent/checks", "", ""},
	{mPUT, "/v1/agent/check/register", "", seedCheckBody},
	{mPUT, "/v1/agent/check/register", "", `{"Name":"svc","ServiceID":"nope","TTL":"1s"}`},
	{mPUT, "/v1/agent/check/register", "", `{"Name":"h","HTTP":"http://x","Method":"G T"}`},
	{mPUT, "/v1/agent/check/register", "", `{"Name":"d","DockerContainerID":"c","Interval":"1s","Args":["x"]}`},
	{mPUT, "/v1/agent/check/pass/mem", "note=ok", ""},
	{mPUT, "/v1/agent/check/warn/mem", "", ""},
	{mPUT, "/v1/agent/check/fail/mem", "note=%zz", ""},
	{mPUT, "/v1/agent/check/pass/web-http", "", ""},
	{mPUT, "/v1/agent/check/update/mem", "", `{"Status":"passing","Output":"all good"}`},
	{mPUT, "/v1/agent/check/update/mem", "", `{"Status":"bogus"}`},
	{mPUT, "/v1/agent/check/deregister/mem", "", ""},
	{mPUT, "/v1/agent/maintenance", "enable=true&reason=r", ""},
	{mPUT, "/v1/agent/maintenance", "enable=false", ""},
	{mPUT, "/v1/agent/maintenance", "", ""},
	{mPUT, "/v1/agent/reload", "", ""},
	{mGET, "/v1/agent/metrics", "", ""},
	{mGET, "/v1/agent/metrics", "format=prometheus", ""},
	// Sessions.
	{mPUT, "/v1/session/create", "", `{"Name":"s","TTL":"15s","LockDelay":"1s","Behavior":"delete"}`},
	{mPUT, "/v1/session/create", "", `{"Node":"ext","Checks":["serfHealth"],"LockDelay":15}`},
	{mPUT, "/v1/session/create", "", `{"LockDelay":1e300,"TTL":"1ms","Behavior":"x"}`},
	{mPUT, "/v1/session/create", "", `{"NodeChecks":[],"ServiceChecks":[{"ID":"web-ttl"}],"LockDelay":"forever"}`},
	{mPUT, "/v1/session/create", "", ``},
	{mPUT, "/v1/session/create", "", `{"LockDelay":null,"Checks":null,"TTL":"0"}`},
	{mPUT, "/v1/session/destroy/40e4a748-2192-161a-0510-9bf59fe950b5", "", ""},
	{mGET, "/v1/session/info/" + sessionPlaceholder, "", ""},
	{mPUT, "/v1/session/renew/" + sessionPlaceholder, "", ""},
	// Prepared queries.
	{mPOST, "/v1/query", "", `{"Name":"fq","Service":{"Service":"web","Tags":["!x"],"OnlyPassing":true},"DNS":{"TTL":"5s"}}`},
	{mPOST, "/v1/query", "", `{"Name":"t-","Template":{"Type":"name_prefix_match","Regexp":"^t-(.*)$"},"Service":{"Service":"${match(1)}"}}`},
	{mPOST, "/v1/query", "", `{"Session":"` + sessionPlaceholder + `","Service":{"Service":"web"}}`},
	{mPOST, "/v1/query", "", `{"Name":"x","Template":{"Type":"name_prefix_match","Regexp":"(("},"Service":{"Service":"${"}}`},
	{mGET, "/v1/query", "index=1", ""},
	{mGET, "/v1/query/fq/execute", "near=_ip&limit=1", ""},
	{mGET, "/v1/query/t-web/explain", "", ""},
	{mPUT, "/v1/query/fq", "", `{"Name":"fq","Service":{"Service":"web"}}`},
	{mDELETE, "/v1/query/40e4a748-2192-161a-0510-9bf59fe950b5", "", ""},
	{mPUT, "/v1/kv/locked", "acquire=" + sessionPlaceholder, "mine"},
	{mGET, "/v1/kv/locked", "index=1", ""},
	{mPUT, "/v1/kv/locked", "release=" + sessionPlaceholder, ""},
	{mPUT, "/v1/kv/locked", "acquire=" + sessionPlaceholder + "&cas=0&flags=1", "again"},
	{mPUT, "/v1/session/destroy/" + sessionPlaceholder, "", ""},
	{mPUT, "/v1/session/destroy/", "", ""},
	{mGET, "/v1/session/info/40e4a748-2192-161a-0510-9bf59fe950b5", "", ""},
	{mGET, "/v1/session/list", "index=3", ""},
	{mGET, "/v1/session/node/" + fuzzNode, "", ""},
	{mPUT, "/v1/session/renew/40e4a748-2192-161a-0510-9bf59fe950b5", "", ""},
	// Status.
	{mGET, "/v1/status/leader", "", ""},
	{mGET, "/v1/status/peers", "", ""},
	// Routing edge cases.
	{mGET, "/", "", ""},
	{mGET, "/v1/", "", ""},
	{mGET, "/v1/kv", "", ""},
	{mGET, "/ui", "", ""},
	{mGET, "/ui/", "", ""},
	{mGET, "/ui/dc1/services", "", ""},
	{mGET, "/ui/dc1/services/web", "", ""},
	{mGET, "/ui/dc1/nodes/" + fuzzNode, "", ""},
	{mGET, "/ui/dc1/kv/app/", "", ""},
	{mPUT, "/ui/dc1/kv/foo", "", "x"},
	{mGET, "/ui/dc2/nodes", "", ""},
	{mGET, "/ui/dc1/bogus", "", ""},
	{mGET, "/debug/pprof/", "", ""},
	{mPOST, "/v1/status/leader", "", "x"},
	{mDELETE, "/v1/catalog/register", "", ""},
	{mPATCH, "/v1/agent/self", "", ""},
	{mHEAD, "/v1/agent/metrics", "", ""},
	{mGET, "/v1/catalog/service/a%2Fb", "tag=%ff&;x", ""},
	{mGET, "/v1/health/service/\xff\xfe", "index=\xff", ""},
}
