package agent

import (
	"context"

	"github.com/beacon-sd/beacon/core/structs"
)

// Backend is the authoritative catalog, KV, health and session API an agent
// talks to: the in-process server on a server agent, a remote server over
// RPC on a client agent. Reads block when their QueryOptions carry an index.
type Backend interface {
	KVApply(ctx context.Context, args *structs.KVSRequest) (bool, error)
	KVGet(ctx context.Context, args *structs.KeyRequest, reply *structs.IndexedDirEntries) error
	KVList(ctx context.Context, args *structs.KeyListRequest, reply *structs.IndexedDirEntries) error
	KVKeys(ctx context.Context, args *structs.KeyListRequest, reply *structs.IndexedKeyList) error
	// TxnApply applies a transaction that writes, all of it or none;
	// TxnRead answers one of reads and checks only, without the log.
	TxnApply(ctx context.Context, args *structs.TxnRequest) (structs.TxnResponse, error)
	TxnRead(ctx context.Context, args *structs.TxnReadRequest, reply *structs.TxnReadResponse) error

	CatalogRegister(ctx context.Context, args *structs.RegisterRequest) error
	CatalogDeregister(ctx context.Context, args *structs.DeregisterRequest) error
	// NodeLeave removes the node of an agent that is leaving the cluster
	// and keeps the leader from registering it again meanwhile.
	NodeLeave(ctx context.Context, args *structs.DeregisterRequest) error
	CatalogDatacenters(ctx context.Context) ([]string, error)
	CatalogNodes(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedNodes) error
	CatalogServices(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedServices) error
	CatalogServiceNodes(ctx context.Context, args *structs.ServiceSpecificRequest, reply *structs.IndexedServiceNodes) error
	CatalogNodeServices(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedNodeServices) error

	HealthNodeChecks(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedHealthChecks) error
	HealthServiceChecks(ctx context.Context, args *structs.ServiceSpecificRequest, reply *structs.IndexedHealthChecks) error
	HealthChecksInState(ctx context.Context, args *structs.ChecksInStateRequest, reply *structs.IndexedHealthChecks) error
	HealthServiceNodes(ctx context.Context, args *structs.ServiceSpecificRequest, reply *structs.IndexedCheckServiceNodes) error

	SessionApply(ctx context.Context, args *structs.SessionRequest) (string, error)
	SessionGet(ctx context.Context, args *structs.SessionSpecificRequest, reply *structs.IndexedSessions) error
	SessionList(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedSessions) error
	SessionNodeSessions(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedSessions) error
	SessionRenew(ctx context.Context, args *structs.SessionSpecificRequest, reply *structs.IndexedSessions) error

	StatusLeader(ctx context.Context) (string, error)
	StatusPeers(ctx context.Context) ([]string, error)

	SnapshotSave(ctx context.Context, args *structs.SnapshotRequest, reply *structs.SnapshotReply) error
	SnapshotRestore(ctx context.Context, args *structs.SnapshotRequest) (bool, error)
	RaftConfiguration(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.RaftConfigurationReply) error
	RaftRemovePeer(ctx context.Context, args *structs.RaftRemovePeerRequest) (bool, error)

	AutopilotGetConfiguration(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.AutopilotConfigReply) error
	AutopilotSetConfiguration(ctx context.Context, args *structs.AutopilotSetRequest) (bool, error)
	AutopilotServerHealth(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.AutopilotHealthReply) error
	OperatorUsage(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.UsageReply) error

	ACLResolve(ctx context.Context, args *structs.ACLResolveRequest) (*structs.ACLIdentity, error)
	ACLBootstrap(ctx context.Context, args *structs.ACLRequest) (*structs.ACLToken, error)
	ACLTokenSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLToken, error)
	ACLTokenDelete(ctx context.Context, args *structs.ACLRequest) (bool, error)
	ACLTokenGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLTokens) error
	ACLTokenList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLTokens) error
	ACLPolicySet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLPolicy, error)
	ACLPolicyDelete(ctx context.Context, args *structs.ACLRequest) (bool, error)
	ACLPolicyGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLPolicies) error
	ACLPolicyList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLPolicies) error

	CABackend
	PreparedQueryApply(ctx context.Context, args *structs.PreparedQueryRequest) (string, error)
	PreparedQueryGet(ctx context.Context, args *structs.PreparedQuerySpecificRequest, reply *structs.IndexedPreparedQueries) error
	PreparedQueryList(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedPreparedQueries) error
	PreparedQueryExecute(ctx context.Context, args *structs.PreparedQueryExecuteRequest, reply *structs.PreparedQueryExecuteResponse) error
	PreparedQueryExplain(ctx context.Context, args *structs.PreparedQueryExecuteRequest, reply *structs.PreparedQueryExplainResponse) error
	ACLRoleSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLRole, error)
	ACLRoleDelete(ctx context.Context, args *structs.ACLRequest) (bool, error)
	ACLRoleGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLRoles) error
	ACLRoleList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLRoles) error
	ACLAuthMethodSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLAuthMethod, error)
	ACLAuthMethodDelete(ctx context.Context, args *structs.ACLRequest) (bool, error)
	ACLAuthMethodGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLAuthMethods) error
	ACLAuthMethodList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLAuthMethods) error
	ACLBindingRuleSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLBindingRule, error)
	ACLBindingRuleDelete(ctx context.Context, args *structs.ACLRequest) (bool, error)
	ACLBindingRuleGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLBindingRules) error
	ACLBindingRuleList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLBindingRules) error
	ACLLogin(ctx context.Context, args *structs.ACLLoginRequest) (*structs.ACLToken, error)
	ACLLogout(ctx context.Context, args *structs.ACLRequest) (bool, error)
}
