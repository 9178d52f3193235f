package http

import "github.com/beacon-sd/beacon/core/structs"

// routes lists every endpoint. A path ending in "/" takes the rest of the
// URL as its argument.
func (s *Server) routes() {
	s.handle("/v1/kv/", s.kv, get, put, pst, del)

	s.handle("/v1/txn", s.txn, put)

	s.handle("/v1/catalog/register", s.catalogRegister, put, pst)
	s.handle("/v1/catalog/deregister", s.catalogDeregister, put, pst)
	s.handle("/v1/catalog/datacenters", s.catalogDatacenters, get)
	s.handle("/v1/catalog/nodes", s.catalogNodes, get)
	s.handle("/v1/catalog/services", s.catalogServices, get)
	s.handle("/v1/catalog/service/", s.catalogService, get)
	s.handle("/v1/catalog/node/", s.catalogNode, get)
	s.handle("/v1/catalog/node-services/", s.catalogNodeServiceList, get)

	s.handle("/v1/health/node/", s.healthNode, get)
	s.handle("/v1/health/checks/", s.healthChecks, get)
	s.handle("/v1/health/state/", s.healthState, get)
	s.handle("/v1/health/service/", s.healthService, get)

	s.handle("/v1/agent/self", s.agentSelf, get)
	s.handle("/v1/agent/members", s.agentMembers, get)
	s.handle("/v1/agent/services", s.agentServices, get)
	s.handle("/v1/agent/service/register", s.agentServiceRegister, put, pst)
	s.handle("/v1/agent/service/deregister/", s.agentServiceDeregister, put, pst)
	s.handle("/v1/agent/service/maintenance/", s.agentServiceMaintenance, put, pst)
	s.handle("/v1/agent/service/", s.agentService, get)
	s.handle("/v1/agent/checks", s.agentChecks, get)
	s.handle("/v1/agent/check/register", s.agentCheckRegister, put, pst)
	s.handle("/v1/agent/check/deregister/", s.agentCheckDeregister, put, pst)
	s.handle("/v1/agent/check/pass/", s.agentCheckTTL(structs.HealthPassing), put, pst)
	s.handle("/v1/agent/check/warn/", s.agentCheckTTL(structs.HealthWarning), put, pst)
	s.handle("/v1/agent/check/fail/", s.agentCheckTTL(structs.HealthCritical), put, pst)
	s.handle("/v1/agent/check/update/", s.agentCheckUpdate, put, pst)
	s.handle("/v1/agent/maintenance", s.agentMaintenance, put, pst)
	s.handle("/v1/agent/reload", s.agentReload, put, pst)
	s.handle("/v1/agent/join/", s.agentJoin, put, pst)
	s.handle("/v1/agent/leave", s.agentLeave, put, pst)
	s.handle("/v1/agent/force-leave/", s.agentForceLeave, put, pst)
	s.handle("/v1/agent/metrics", s.agentMetrics, get)
	s.handle("/v1/agent/monitor", s.agentMonitor, get)

	s.handle("/v1/session/create", s.sessionCreate, put, pst)
	s.handle("/v1/session/destroy/", s.sessionDestroy, put, pst)
	s.handle("/v1/session/info/", s.sessionInfo, get)
	s.handle("/v1/session/list", s.sessionList, get)
	s.handle("/v1/session/node/", s.sessionNode, get)
	s.handle("/v1/session/renew/", s.sessionRenew, put, pst)

	s.handle("/v1/query", s.query, get, pst)
	s.handle("/v1/query/", s.querySpecific, get, put, del)

	s.handle("/v1/snapshot", s.snapshot, get, put)
	s.handle("/v1/operator/raft/configuration", s.raftConfiguration, get)
	s.handle("/v1/operator/raft/peer", s.raftPeer, del)
	s.handle("/v1/operator/keyring", s.keyring, get, pst, put, del)

	s.handle("/v1/operator/autopilot/configuration", s.autopilotConfiguration, get, put)
	s.handle("/v1/operator/autopilot/health", s.autopilotHealth, get)
	s.handle("/v1/operator/autopilot/state", s.autopilotState, get)
	s.handle("/v1/operator/usage", s.operatorUsage, get)
	s.handle("/v1/agent/host", s.agentHost, get)
	s.handle("/v1/agent/version", s.agentVersion, get)
	s.handle("/v1/coordinate/datacenters", s.coordinateDatacenters, get)
	s.handle("/v1/coordinate/nodes", s.coordinateNodes, get)
	s.handle("/v1/coordinate/node/", s.coordinateNode, get)
	s.handle("/v1/coordinate/update", s.coordinateUpdate, put)

	s.handle("/v1/agent/token/", s.agentToken, put)

	s.handle("/v1/acl/bootstrap", s.aclBootstrap, put)
	s.handle("/v1/acl/token", s.aclTokenCreate, put)
	s.handle("/v1/acl/token/", s.aclToken, get, put, del)
	s.handle("/v1/acl/tokens", s.aclTokenList, get)
	s.handle("/v1/acl/policy", s.aclPolicyCreate, put)
	s.handle("/v1/acl/policy/", s.aclPolicy, get, put, del)
	s.handle("/v1/acl/policies", s.aclPolicyList, get)
	s.handle("/v1/acl/replication", s.aclReplication, get)
	s.handle("/v1/acl/role", s.aclRoleCreate, put)
	s.handle("/v1/acl/role/", s.aclRole, get, put, del)
	s.handle("/v1/acl/roles", s.aclRoleList, get)
	s.handle("/v1/acl/templated-policies", s.aclTemplatedPolicies, get)
	s.handle("/v1/acl/templated-policy/", s.aclTemplatedPolicy, get, pst)
	s.handle("/v1/acl/auth-method", s.aclMethodCreate, put)
	s.handle("/v1/acl/auth-method/", s.aclMethod, get, put, del)
	s.handle("/v1/acl/auth-methods", s.aclMethodList, get)
	s.handle("/v1/acl/binding-rule", s.aclRuleCreate, put)
	s.handle("/v1/acl/binding-rule/", s.aclRule, get, put, del)
	s.handle("/v1/acl/binding-rules", s.aclRuleList, get)
	s.handle("/v1/acl/login", s.aclLogin, pst)
	s.handle("/v1/acl/logout", s.aclLogout, pst)
	s.handle("/v1/acl/create", s.aclLegacyCreate, put)
	s.handle("/v1/acl/update", s.aclLegacyUpdate, put)
	s.handle("/v1/acl/destroy/", s.aclLegacyDestroy, put)
	s.handle("/v1/acl/clone/", s.aclLegacyClone, put)
	s.handle("/v1/acl/info/", s.aclLegacyInfo, get)
	s.handle("/v1/acl/list", s.aclLegacyList, get)

	s.handle("/v1/connect/ca/roots", s.connectCARoots, get)
	s.handle("/v1/connect/ca/configuration", s.connectCAConfig, get, put)
	s.handle("/v1/agent/connect/ca/roots", s.connectCARoots, get)
	s.handle("/v1/agent/connect/ca/leaf/", s.agentConnectLeaf, get)
	for _, m := range meshRoutes {
		s.handle(m.path, notMesh(m.feature), get, put, pst, del)
	}
	s.handle("/v1/event/fire/", s.eventFire, put)
	s.handle("/v1/event/list", s.eventList, get)

	s.handle("/v1/status/leader", s.statusLeader, get)
	s.handle("/v1/status/peers", s.statusPeers, get)

	s.handle(debugPrefix, s.pprof, get, pst)
}
