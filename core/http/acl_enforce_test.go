package http_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	beaconhttp "github.com/beacon-sd/beacon/core/http"
	"github.com/beacon-sd/beacon/core/testagent"
)

// aclWorld is an agent under default_policy deny with data of every kind
// and four callers: no token, a read-only token, a token limited to the
// app/ keys, and the management token.
type aclWorld struct {
	a                 *testagent.Agent
	node              string
	session, doomed   string
	readOnly, kvApp   string
	kvAppAccessor     string
	readPolicy        string
	spareToken        string // AccessorID of a token the table updates, clones and deletes
	sparePolicy       string // ID of a policy the table updates and deletes
	legacy            string // SecretID (legacy ID) of a legacy client token
	query, doomedQ    string // IDs of prepared queries "q-web" and "q-doomed"
	callers           [4]string
	managementAccount *api.Client
	// ACL roles, auth methods and binding rules.
	spareRole   string // ID of a role the table updates and deletes
	method      string // an auth method logins use
	spareRule   string // ID of a binding rule the table updates and deletes
	issuer      *jwtIssuer
	methodBody  string // the body that creates an auth method
	loginBearer string
}

const readOnlyRules = `
key_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }
service_prefix "" { policy = "read" }
session_prefix "" { policy = "read" }
query_prefix "" { policy = "read" }
agent_prefix "" { policy = "read" }
operator = "read"
keyring = "read"
`

func newACLWorld(t *testing.T) *aclWorld {
	w := &aclWorld{a: testagent.Start(t, testagent.WithHCL(`acl {
  enabled = true
  default_policy = "deny"
  tokens { initial_management = "root"  agent = "root" }
}`))}
	w.node = w.a.Agent.Node().Node
	mc := tokenClient(t, w.a, "root")
	w.managementAccount = mc
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ro, _, err := mc.ACL().PolicyCreate(&api.ACLPolicy{Name: "read-only", Rules: readOnlyRules}, nil)
	must(err)
	w.readPolicy = ro.ID
	app, _, err := mc.ACL().PolicyCreate(&api.ACLPolicy{Name: "kv-app", Rules: `key_prefix "app/" { policy = "write" }`}, nil)
	must(err)
	rt, _, err := mc.ACL().TokenCreate(&api.ACLToken{Description: "read only", Policies: []*api.ACLTokenPolicyLink{{ID: ro.ID}}}, nil)
	must(err)
	kt, _, err := mc.ACL().TokenCreate(&api.ACLToken{Description: "app keys", Policies: []*api.ACLTokenPolicyLink{{ID: app.ID}}}, nil)
	must(err)
	w.readOnly, w.kvApp, w.kvAppAccessor = rt.SecretID, kt.SecretID, kt.AccessorID
	sp, _, err := mc.ACL().PolicyCreate(&api.ACLPolicy{Name: "spare", Rules: `key "spare" { policy = "read" }`}, nil)
	must(err)
	st, _, err := mc.ACL().TokenCreate(&api.ACLToken{Description: "spare", Policies: []*api.ACLTokenPolicyLink{{ID: sp.ID}}}, nil)
	must(err)
	w.sparePolicy, w.spareToken = sp.ID, st.AccessorID
	code, body := do(t, "PUT", w.a.URL("/v1/acl/create?token=root"), "", `{"Name":"legacy","Type":"client","Rules":"key \"l\" { policy = \"read\" }"}`)
	var legacy struct{ ID string }
	if code != 200 || json.Unmarshal([]byte(body), &legacy) != nil || legacy.ID == "" {
		t.Fatalf("legacy create: %d %s", code, body)
	}
	w.legacy = legacy.ID
	role, _, err := mc.ACL().RoleCreate(&api.ACLRole{Name: "spare-role", Policies: []*api.ACLRolePolicyLink{{ID: sp.ID}}}, nil)
	must(err)
	w.spareRole = role.ID
	w.issuer = newJWTIssuer(t)
	cfg, _ := json.Marshal(w.issuer.config())
	w.methodBody = `{"Name":"m-made","Type":"jwt","Config":` + string(cfg) + `}`
	w.method = "table-method"
	_, _, err = mc.ACL().AuthMethodCreate(&api.ACLAuthMethod{Name: w.method, Type: "jwt", Config: w.issuer.config()}, nil)
	must(err)
	rule, _, err := mc.ACL().BindingRuleCreate(&api.ACLBindingRule{AuthMethod: w.method, BindType: "service", BindName: "${value.service}"}, nil)
	must(err)
	w.spareRule = rule.ID
	w.loginBearer = w.issuer.valid(map[string]interface{}{"service": "web", "meta": map[string]string{"node": "node-1"}})
	w.callers = [4]string{"", w.readOnly, w.kvApp, "root"}
	for _, k := range []string{"app/a", "app/b", "secret/x"} {
		_, err := mc.KV().Put(&api.KVPair{Key: k, Value: []byte(k)}, nil)
		must(err)
	}
	must(mc.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web", Name: "web", Port: 80, Address: "127.0.0.1",
		Check: &api.AgentServiceCheck{CheckID: "web-alive", TTL: "10m", Status: "passing"}}))
	must(mc.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "tmpsvc", Name: "tmpsvc", Port: 81}))
	must(w.a.Agent.SyncNow())
	w.session, _, err = mc.Session().Create(&api.SessionEntry{Node: w.node, Name: "s"}, nil)
	must(err)
	_, _, err = mc.Event().Fire(&api.UserEvent{Name: "acl-event"}, nil)
	must(err)
	w.doomed, _, err = mc.Session().Create(&api.SessionEntry{Node: w.node, Name: "doomed"}, nil)
	must(err)
	w.query, _, err = mc.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "q-web", Service: api.ServiceQuery{Service: "web"}}, nil)
	must(err)
	w.doomedQ, _, err = mc.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "q-doomed", Service: api.ServiceQuery{Service: "web"}}, nil)
	must(err)
	return w
}

// anyButDenied marks a case where the management token may get another
// answer than 200 (the dev agent cannot join, has no raft peers, ...)
// but never 403.
const anyButDenied = -1

type aclCase struct {
	method, path, body string
	// want is the status for: no token, read-only, app/ keys, management;
	// 0 skips that caller (the call would end the agent).
	want [4]int
	// check looks at a 200 body for each caller.
	check func(t *testing.T, caller int, body string)
}

func contains(words ...string) func(*testing.T, int, string) {
	return func(t *testing.T, caller int, body string) {
		for _, w := range words {
			if !strings.Contains(body, w) {
				t.Errorf("caller %d: body lacks %q: %.300s", caller, w, body)
			}
		}
	}
}

// seenBy asserts that what is readable appears exactly for the callers
// marked true.
func seenBy(word string, by [4]bool) func(*testing.T, int, string) {
	return func(t *testing.T, caller int, body string) {
		if got := strings.Contains(body, word); got != by[caller] {
			t.Errorf("caller %d: %q shown=%v, want %v: %.300s", caller, word, got, by[caller], body)
		}
	}
}

func both(fs ...func(*testing.T, int, string)) func(*testing.T, int, string) {
	return func(t *testing.T, c int, b string) {
		for _, f := range fs {
			f(t, c, b)
		}
	}
}

var (
	denyAll   = [4]int{403, 403, 403, 200}
	readers   = [4]int{403, 200, 403, 200}
	everyone  = [4]int{200, 200, 200, 200}
	readersOK = [4]bool{false, true, false, true}
)

func (w *aclWorld) cases() []aclCase {
	return append(w.baseCases(), w.connectCases()...)
}

// connectCases cover the Connect CA (roots for everyone, a leaf with
// service:write, the configuration with operator:write) and the service
// mesh endpoints, which answer 501 whoever asks.
func (w *aclWorld) connectCases() []aclCase {
	cs := []aclCase{
		{"GET", "/v1/connect/ca/roots", "", everyone, contains("ActiveRootID")},
		{"GET", "/v1/agent/connect/ca/roots", "", everyone, contains("ActiveRootID")},
		{"GET", "/v1/agent/connect/ca/leaf/web", "", denyAll, contains("BEGIN CERTIFICATE")},
		{"GET", "/v1/connect/ca/configuration", "", denyAll, contains(`"Provider":"consul"`)},
		{"PUT", "/v1/connect/ca/configuration", `{"Provider":"consul","Config":{}}`, denyAll, nil},
	}
	for _, p := range beaconhttp.MeshRoutes() {
		if strings.HasSuffix(p, "/") {
			p += "x"
		}
		for _, m := range []string{"GET", "PUT", "POST", "DELETE"} {
			cs = append(cs, aclCase{m, p, "", [4]int{501, 501, 501, 501}, nil})
		}
	}
	return cs
}

func (w *aclWorld) baseCases() []aclCase {
	n := w.node
	return []aclCase{
		// KV
		{"GET", "/v1/kv/app/a", "", [4]int{403, 200, 200, 200}, nil},
		{"GET", "/v1/kv/secret/x", "", readers, nil},
		{"GET", "/v1/kv/?recurse", "", [4]int{404, 200, 200, 200}, both(seenBy(`"secret/x"`, readersOK), seenBy(`"app/a"`, [4]bool{false, true, true, true}))},
		// A key list of the root is a list even when empty; of a prefix
		// with nothing visible, a 404.
		{"GET", "/v1/kv/?keys", "", everyone, both(seenBy(`"secret/x"`, readersOK), seenBy(`"app/b"`, [4]bool{false, true, true, true}))},
		{"GET", "/v1/kv/secret/?keys", "", [4]int{404, 200, 404, 200}, contains(`"secret/x"`)},
		{"PUT", "/v1/kv/app/c", "v", [4]int{403, 403, 200, 200}, nil},
		{"PUT", "/v1/kv/secret/y", "v", denyAll, nil},
		{"DELETE", "/v1/kv/app/c", "", [4]int{403, 403, 200, 200}, nil},
		{"DELETE", "/v1/kv/?recurse", "", [4]int{403, 403, 403, 0}, nil},
		// Transactions: each operation needs what its own endpoint needs;
		// a denied one fails the transaction (409), reads leave out what
		// the token may not see.
		{"PUT", "/v1/txn", `[{"KV":{"Verb":"set","Key":"app/t","Value":"dA=="}}]`, [4]int{409, 409, 200, 200}, nil},
		{"PUT", "/v1/txn", `[{"KV":{"Verb":"get-tree","Key":"secret/"}}]`, everyone, seenBy(`"secret/x"`, readersOK)},
		{"PUT", "/v1/txn", `[{"KV":{"Verb":"check-session","Key":"secret/x"}}]`, [4]int{409, 200, 409, 200}, nil},
		// Catalog
		{"PUT", "/v1/catalog/register", `{"Node":"ext","Address":"10.0.0.9","Service":{"Service":"ext-svc","Port":1}}`, denyAll, nil},
		{"PUT", "/v1/catalog/deregister", `{"Node":"ext","ServiceID":"ext-svc"}`, denyAll, nil},
		{"GET", "/v1/catalog/datacenters", "", everyone, nil},
		{"GET", "/v1/catalog/nodes", "", everyone, seenBy(n, readersOK)},
		{"GET", "/v1/catalog/services", "", everyone, seenBy(`"web"`, readersOK)},
		{"GET", "/v1/catalog/service/web", "", everyone, seenBy(`"ServiceID":"web"`, readersOK)},
		// A node the token cannot read is answered as an unknown one: 200
		// with null, as the API client expects.
		{"GET", "/v1/catalog/node/" + n, "", everyone, seenBy(`"web"`, readersOK)},
		{"GET", "/v1/catalog/node-services/" + n, "", everyone, seenBy(`"web"`, readersOK)},
		// Health
		{"GET", "/v1/health/node/" + n, "", everyone, seenBy("serfHealth", readersOK)},
		{"GET", "/v1/health/checks/web", "", everyone, seenBy("web-alive", readersOK)},
		{"GET", "/v1/health/state/any", "", everyone, seenBy("serfHealth", readersOK)},
		{"GET", "/v1/health/service/web", "", everyone, seenBy(`"ID":"web"`, readersOK)},
		// Agent
		{"GET", "/v1/agent/self", "", readers, nil},
		{"GET", "/v1/agent/members", "", everyone, seenBy(n, readersOK)},
		{"GET", "/v1/agent/services", "", everyone, seenBy(`"web"`, readersOK)},
		{"GET", "/v1/agent/service/web", "", readers, nil},
		{"PUT", "/v1/agent/service/register", `{"ID":"web","Name":"web","Port":80,"Address":"127.0.0.1"}`, denyAll, nil},
		{"PUT", "/v1/agent/service/maintenance/web?enable=false", "", denyAll, nil},
		{"PUT", "/v1/agent/service/deregister/tmpsvc", "", denyAll, nil},
		{"GET", "/v1/agent/checks", "", everyone, nil},
		{"PUT", "/v1/agent/check/register", `{"Name":"nodecheck","TTL":"1m"}`, denyAll, nil},
		{"PUT", "/v1/agent/check/pass/nodecheck", "", denyAll, nil},
		{"PUT", "/v1/agent/check/warn/nodecheck", "", denyAll, nil},
		{"PUT", "/v1/agent/check/fail/nodecheck", "", denyAll, nil},
		{"PUT", "/v1/agent/check/update/nodecheck", `{"Status":"passing"}`, denyAll, nil},
		{"GET", "/v1/agent/checks", "", everyone, seenBy("nodecheck", readersOK)},
		{"PUT", "/v1/agent/check/deregister/nodecheck", "", denyAll, nil},
		{"PUT", "/v1/agent/maintenance?enable=false", "", denyAll, nil},
		{"PUT", "/v1/agent/reload", "", denyAll, nil},
		{"PUT", "/v1/agent/join/127.0.0.1:1", "", [4]int{403, 403, 403, anyButDenied}, nil},
		{"PUT", "/v1/agent/leave", "", [4]int{403, 403, 403, 0}, nil},
		{"PUT", "/v1/agent/force-leave/x", "", [4]int{403, 403, 403, anyButDenied}, nil},
		{"GET", "/v1/agent/metrics", "", readers, nil},
		{"GET", "/v1/agent/monitor", "", [4]int{403, 0, 403, 0}, nil},
		{"PUT", "/v1/agent/token/agent", `{"Token":"root"}`, denyAll, nil},
		// Sessions
		{"PUT", "/v1/session/create", `{"Node":"` + n + `"}`, denyAll, nil},
		{"GET", "/v1/session/info/" + w.session, "", everyone, seenBy(w.session, readersOK)},
		{"GET", "/v1/session/list", "", everyone, seenBy(w.session, readersOK)},
		{"GET", "/v1/session/node/" + n, "", everyone, seenBy(w.session, readersOK)},
		{"PUT", "/v1/session/renew/" + w.session, "", denyAll, nil},
		{"PUT", "/v1/session/destroy/" + w.doomed, "", denyAll, nil},
		// Prepared queries: query:read and query:write on the name;
		// execute shows what the caller's token may read (the query has
		// no token of its own).
		{"POST", "/v1/query", `{"Name":"q-made","Service":{"Service":"web"}}`, denyAll, nil},
		{"GET", "/v1/query", "", everyone, seenBy(w.query, readersOK)},
		{"GET", "/v1/query/" + w.query, "", readers, nil},
		{"PUT", "/v1/query/" + w.query, `{"Name":"q-web","Service":{"Service":"web"}}`, denyAll, nil},
		{"GET", "/v1/query/q-web/execute", "", everyone, seenBy(`"Port":80`, readersOK)},
		{"GET", "/v1/query/q-web/explain", "", readers, nil},
		{"DELETE", "/v1/query/" + w.doomedQ, "", denyAll, nil},
		// Snapshots and operator
		{"GET", "/v1/snapshot", "", denyAll, nil},
		{"PUT", "/v1/snapshot", "not an archive", [4]int{403, 403, 403, anyButDenied}, nil},
		{"GET", "/v1/operator/raft/configuration", "", readers, nil},
		{"DELETE", "/v1/operator/raft/peer?id=x", "", [4]int{403, 403, 403, anyButDenied}, nil},
		{"GET", "/v1/operator/keyring", "", [4]int{403, anyButDenied, 403, anyButDenied}, nil},
		{"POST", "/v1/operator/keyring", `{"Key":"x"}`, [4]int{403, 403, 403, anyButDenied}, nil},
		{"PUT", "/v1/operator/keyring", `{"Key":"x"}`, [4]int{403, 403, 403, anyButDenied}, nil},
		{"DELETE", "/v1/operator/keyring", `{"Key":"x"}`, [4]int{403, 403, 403, anyButDenied}, nil},
		// Autopilot and usage: operator:read to read, operator:write to
		// change.
		{"GET", "/v1/operator/autopilot/configuration", "", readers, contains(`"CleanupDeadServers":true`)},
		{"PUT", "/v1/operator/autopilot/configuration", `{"CleanupDeadServers":true,"LastContactThreshold":"200ms","MaxTrailingLogs":250,"ServerStabilizationTime":"10s"}`, denyAll, nil},
		{"GET", "/v1/operator/autopilot/health", "", readers, contains(`"Healthy":true`)},
		{"GET", "/v1/operator/autopilot/state", "", readers, contains(`"Leader":"`)},
		{"GET", "/v1/operator/usage", "", readers, contains(`"dc1":{`)},
		{"GET", "/v1/agent/host", "", readers, contains(`"CollectionTime":`)},
		{"GET", "/v1/agent/version", "", everyone, contains(`"HumanVersion":"1.22.3"`)},
		// No coordinates to show, but Consul's rules first: node:read
		// for a node, node:write for an update.
		{"GET", "/v1/coordinate/datacenters", "", [4]int{501, 501, 501, 501}, nil},
		{"GET", "/v1/coordinate/nodes", "", [4]int{501, 501, 501, 501}, nil},
		{"GET", "/v1/coordinate/node/" + n, "", [4]int{403, 501, 403, 501}, nil},
		{"PUT", "/v1/coordinate/update", `{"Node":"` + n + `","Coord":{}}`, [4]int{403, 403, 403, 501}, nil},
		// Events: event:write to fire, event:read to see one listed.
		{"PUT", "/v1/event/fire/acl-event", "payload", denyAll, nil},
		{"GET", "/v1/event/list", "", everyone, seenBy(`"acl-event"`, [4]bool{false, false, false, true})},
		{"GET", "/v1/status/leader", "", everyone, nil},
		{"GET", "/v1/status/peers", "", everyone, nil},
		// ACLs
		{"PUT", "/v1/acl/bootstrap", "", [4]int{403, 403, 403, 403}, nil},
		// A request without a token has no token to read.
		{"GET", "/v1/acl/token/self", "", [4]int{404, 200, 200, 200}, nil},
		{"GET", "/v1/acl/tokens", "", denyAll, contains(w.kvAppAccessor)},
		{"GET", "/v1/acl/token/" + w.kvAppAccessor, "", denyAll, nil},
		{"PUT", "/v1/acl/token", `{"Description":"made"}`, denyAll, nil},
		{"GET", "/v1/acl/policies", "", denyAll, contains("kv-app")},
		{"GET", "/v1/acl/policy/" + w.readPolicy, "", denyAll, nil},
		{"GET", "/v1/acl/policy/name/kv-app", "", denyAll, nil},
		{"PUT", "/v1/acl/policy", `{"Name":"p-made"}`, [4]int{403, 403, 403, 0}, nil},
		{"PUT", "/v1/acl/token/" + w.spareToken, `{"Description":"updated","Policies":[{"ID":"` + w.sparePolicy + `"}]}`, denyAll, nil},
		{"PUT", "/v1/acl/token/" + w.spareToken + "/clone", `{"Description":"cloned"}`, denyAll, nil},
		{"DELETE", "/v1/acl/token/" + w.spareToken, "", denyAll, nil},
		{"PUT", "/v1/acl/policy/" + w.sparePolicy, `{"Name":"spare","Rules":"key \"spare\" { policy = \"write\" }"}`, denyAll, nil},
		{"DELETE", "/v1/acl/policy/" + w.sparePolicy, "", denyAll, nil},
		{"GET", "/v1/acl/replication", "", everyone, nil},
		// The legacy API, which Consul removed in 1.11 and beacon keeps
		// for clients of Consul before 1.4, with the rights it needed
		// there: management, but the secret names the token, so reading
		// it by its secret needs no other right.
		{"GET", "/v1/acl/list", "", denyAll, contains(w.legacy)},
		{"PUT", "/v1/acl/create", `{"Name":"legacy","Type":"client"}`, denyAll, nil},
		{"PUT", "/v1/acl/update", `{"ID":"` + w.legacy + `","Name":"renamed","Type":"client"}`, denyAll, nil},
		{"GET", "/v1/acl/info/" + w.legacy, "", everyone, contains(w.legacy)},
		{"GET", "/v1/acl/info/" + w.kvAppAccessor, "", everyone, func(t *testing.T, c int, body string) {
			if body != "[]" {
				t.Errorf("caller %d: legacy info by AccessorID: %s", c, body)
			}
		}},
		{"PUT", "/v1/acl/clone/" + w.legacy, "", denyAll, nil},
		// Roles, templated policies, auth methods and binding rules:
		// acl:read to read, acl:write to write, as for policies.
		{"GET", "/v1/acl/roles", "", denyAll, contains("spare-role")},
		{"GET", "/v1/acl/role/" + w.spareRole, "", denyAll, contains("spare-role")},
		{"GET", "/v1/acl/role/name/spare-role", "", denyAll, contains(w.spareRole)},
		{"PUT", "/v1/acl/role", `{"Name":"r-made"}`, [4]int{403, 403, 403, 0}, nil},
		{"PUT", "/v1/acl/role/" + w.spareRole, `{"Name":"spare-role","Description":"updated"}`, denyAll, contains("updated")},
		{"GET", "/v1/acl/templated-policies", "", denyAll, contains("builtin/service")},
		{"GET", "/v1/acl/templated-policy/name/builtin/dns", "", denyAll, contains("query_prefix")},
		{"POST", "/v1/acl/templated-policy/preview/builtin/service", `{"Name":"web"}`, denyAll, contains(`service \"web\"`)},
		{"PUT", "/v1/acl/auth-method", w.methodBody, [4]int{403, 403, 403, 0}, nil},
		{"GET", "/v1/acl/auth-methods", "", denyAll, contains(w.method)},
		{"GET", "/v1/acl/auth-method/" + w.method, "", denyAll, contains("BoundIssuer")},
		{"PUT", "/v1/acl/auth-method/" + w.method, `{"Type":"jwt","Description":"updated","Config":` + strings.TrimPrefix(w.methodBody, `{"Name":"m-made","Type":"jwt","Config":`), denyAll, contains("updated")},
		{"PUT", "/v1/acl/binding-rule", `{"AuthMethod":"` + w.method + `","BindType":"node","BindName":"${value.node}"}`, denyAll, nil},
		{"GET", "/v1/acl/binding-rules?authmethod=" + w.method, "", denyAll, contains(w.spareRule)},
		{"GET", "/v1/acl/binding-rule/" + w.spareRule, "", denyAll, contains("${value.service}")},
		{"PUT", "/v1/acl/binding-rule/" + w.spareRule, `{"AuthMethod":"` + w.method + `","BindType":"service","BindName":"web"}`, denyAll, nil},
		// A login needs no token: the bearer token is the credential.
		{"POST", "/v1/acl/login", `{"AuthMethod":"` + w.method + `","BearerToken":"` + w.loginBearer + `"}`, everyone, contains(`"AuthMethod":"` + w.method + `"`)},
		// A logout deletes the request's token, which a login must have made.
		{"POST", "/v1/acl/logout", "", [4]int{401, 403, 403, 403}, nil},
		{"DELETE", "/v1/acl/binding-rule/" + w.spareRule, "", denyAll, nil},
		{"DELETE", "/v1/acl/auth-method/m-made", "", [4]int{403, 403, 403, 0}, nil},
		{"DELETE", "/v1/acl/role/" + w.spareRole, "", denyAll, nil},
		{"PUT", "/v1/acl/destroy/" + w.legacy, "", denyAll, nil},
		// Go's profiler: operator:read.
		{"GET", "/debug/pprof/", "", readers, contains("goroutine")},
		{"GET", "/debug/pprof/cmdline", "", readers, contains(".test")},
		{"GET", "/debug/pprof/profile?seconds=1", "", readers, nil},
		{"GET", "/debug/pprof/heap", "", readers, nil},
		{"GET", "/debug/pprof/goroutine?debug=1", "", readers, contains("goroutine profile:")},
		{"GET", "/debug/pprof/symbol", "", readers, contains("num_symbols")},
		{"POST", "/debug/pprof/symbol", "0x1", readers, contains("num_symbols")},
		{"GET", "/debug/pprof/trace?seconds=0.2", "", readers, nil},
		// UI
		{"GET", "/ui/dc1/services", "", everyone, seenBy(">web<", readersOK)},
		{"GET", "/ui/dc1/services/web", "", everyone, seenBy("127.0.0.1:80", readersOK)},
		{"GET", "/ui/dc1/nodes", "", everyone, seenBy("/nodes/"+n, readersOK)},
		{"GET", "/ui/dc1/nodes/" + n, "", everyone, seenBy(">web<", readersOK)},
		{"GET", "/ui/dc1/acls/tokens", "", everyone, nil},
		{"GET", "/ui/dc1/kv/secret/x", "", readers, nil},
		{"GET", "/ui/dc1/kv/", "", everyone, seenBy("secret/", readersOK)},
	}
}

// TestACLEnforcementOnEveryEndpoint walks the API with each caller.
func TestACLEnforcementOnEveryEndpoint(t *testing.T) {
	w := newACLWorld(t)
	names := [4]string{"no token", "read-only", "app keys", "management"}
	for _, c := range w.cases() {
		for i, tok := range w.callers {
			want := c.want[i]
			if want == 0 {
				continue
			}
			code, body := do(t, c.method, w.a.URL(c.path), tok, c.body)
			switch {
			case want == anyButDenied && code == 403:
				t.Errorf("%s %s as %s: 403 %q", c.method, c.path, names[i], body)
			case want != anyButDenied && code != want:
				t.Errorf("%s %s as %s: %d %q, want %d", c.method, c.path, names[i], code, body, want)
			case code == 403 && !strings.HasPrefix(body, "Permission denied"):
				t.Errorf("%s %s as %s: 403 body %q", c.method, c.path, names[i], body)
			case code == 200 && c.check != nil:
				c.check(t, i, body)
			}
		}
	}
}

// TestACLTableCoversEveryRoute keeps the table above complete: every
// method of every route the API registers has a case (POST counts as
// covered by PUT where a route takes both).
func TestACLTableCoversEveryRoute(t *testing.T) {
	routes := beaconhttp.RoutePatterns()
	match := func(path string) string {
		path, _, _ = strings.Cut(path, "?")
		if _, ok := routes[path]; ok && !strings.HasSuffix(path, "/") {
			return path
		}
		best := ""
		for p := range routes {
			if strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) && len(p) > len(best) {
				best = p
			}
		}
		return best
	}
	covered := map[string]bool{}
	for _, c := range (&aclWorld{node: "n", session: "s", doomed: "d", legacy: "l", spareToken: "t", sparePolicy: "p",
		spareRole: "r", method: "m", spareRule: "b"}).cases() {
		if strings.HasPrefix(c.path, "/v1/") || strings.HasPrefix(c.path, "/debug/") {
			covered[c.method+" "+match(c.path)] = true
		}
	}
	for p, methods := range routes {
		for _, m := range methods {
			if !covered[m+" "+p] && !(m == "POST" && covered["PUT "+p]) {
				t.Errorf("no ACL case for %s %s", m, p)
			}
		}
	}
}
