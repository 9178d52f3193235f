// Package config is the agent's configuration: one struct whose JSON names
// are Consul's config-file keys, filled from defaults, then config files
// (JSON or HCL, in the order given, directories in lexical order), then
// command-line flags. A flag and a config key are one setting: each flag
// writes the same key a file would.
package config

import (
	"github.com/beacon-sd/beacon/core/structs"
)

// Duration is a config-file duration ("10s").
type Duration = structs.Duration

// Config is the agent's whole configuration.
type Config struct {
	// Identity and role.
	Datacenter        string            `json:"datacenter"`
	PrimaryDatacenter string            `json:"primary_datacenter" alias:"acl_datacenter"`
	NodeName          string            `json:"node_name"`
	NodeID            string            `json:"node_id"`
	NodeMeta          map[string]string `json:"node_meta"`
	DisableHostNodeID *bool             `json:"disable_host_node_id"`
	DataDir           string            `json:"data_dir"`
	DevMode           bool              `json:"dev"`
	Server            bool              `json:"server"`
	Bootstrap         bool              `json:"bootstrap"`
	BootstrapExpect   int               `json:"bootstrap_expect"`
	RaftProtocol      int               `json:"raft_protocol"`

	// Network.
	BindAddr              string    `json:"bind_addr"`
	ClientAddr            string    `json:"client_addr"`
	AdvertiseAddr         string    `json:"advertise_addr"`
	AdvertiseAddrWAN      string    `json:"advertise_addr_wan"`
	AdvertiseAddrs        Advertise `json:"advertise_addrs"`
	SerfLANBindAddr       string    `json:"serf_lan" alias:"serf_lan_bind"`
	SerfWANBindAddr       string    `json:"serf_wan" alias:"serf_wan_bind"`
	Addresses             Addresses `json:"addresses"`
	Ports                 Ports     `json:"ports"`
	TranslateWANAddrs     bool      `json:"translate_wan_addrs"`
	DisableKeyringFile    bool      `json:"disable_keyring_file"`
	ReconnectTimeout      Duration  `json:"reconnect_timeout"`
	ReconnectTimeoutWAN   Duration  `json:"reconnect_timeout_wan"`
	CheckUpdateInterval   Duration  `json:"check_update_interval"`
	SessionTTLMin         Duration  `json:"session_ttl_min"`
	DisableUpdateCheck    bool      `json:"disable_update_check"`
	DisableAnonSignature  bool      `json:"disable_anonymous_signature"`
	DisableRemoteExec     *bool     `json:"disable_remote_exec"`
	EnableDebug           bool      `json:"enable_debug"`
	EnableCentralServices bool      `json:"enable_central_service_config"`

	// DNS.
	Domain    string    `json:"domain"`
	AltDomain string    `json:"alt_domain"`
	Recursors []string  `json:"recursors"`
	DNSConfig DNSConfig `json:"dns_config"`

	// Joining and leaving.
	StartJoin            []string `json:"start_join"`
	StartJoinWAN         []string `json:"start_join_wan"`
	RetryJoin            []string `json:"retry_join"`
	RetryJoinWAN         []string `json:"retry_join_wan"`
	RetryInterval        Duration `json:"retry_interval"`
	RetryIntervalWAN     Duration `json:"retry_interval_wan"`
	RetryMax             int      `json:"retry_max"`
	RetryMaxWAN          int      `json:"retry_max_wan"`
	RejoinAfterLeave     bool     `json:"rejoin_after_leave"`
	LeaveOnTerminate     *bool    `json:"leave_on_terminate"`
	SkipLeaveOnInterrupt *bool    `json:"skip_leave_on_interrupt"`

	// Security.
	Encrypt               string    `json:"encrypt"`
	EncryptVerifyIncoming *bool     `json:"encrypt_verify_incoming"`
	EncryptVerifyOutgoing *bool     `json:"encrypt_verify_outgoing"`
	VerifyIncoming        bool      `json:"verify_incoming"`
	VerifyIncomingRPC     bool      `json:"verify_incoming_rpc"`
	VerifyIncomingHTTPS   bool      `json:"verify_incoming_https"`
	VerifyOutgoing        bool      `json:"verify_outgoing"`
	VerifyServerHostname  bool      `json:"verify_server_hostname"`
	CAFile                string    `json:"ca_file"`
	CAPath                string    `json:"ca_path"`
	CertFile              string    `json:"cert_file"`
	KeyFile               string    `json:"key_file"`
	TLSMinVersion         string    `json:"tls_min_version"`
	TLSCipherSuites       string    `json:"tls_cipher_suites"`
	TLSPreferServerCipher bool      `json:"tls_prefer_server_cipher_suites"`
	TLS                   TLSConfig `json:"tls"`
	AutoEncrypt           AnyObject `json:"auto_encrypt"`
	ACL                   ACLConfig `json:"acl"`
	// Pre-1.4 top-level ACL keys, still found in old config files.
	ACLDefaultPolicy        string `json:"acl_default_policy"`
	ACLDownPolicy           string `json:"acl_down_policy"`
	ACLTTL                  string `json:"acl_ttl"`
	ACLMasterToken          string `json:"acl_master_token"`
	ACLAgentToken           string `json:"acl_agent_token"`
	ACLAgentMasterToken     string `json:"acl_agent_master_token"`
	ACLToken                string `json:"acl_token"`
	ACLReplicationToken     string `json:"acl_replication_token"`
	EnableACLReplication    bool   `json:"enable_acl_replication"`
	EnableScriptChecks      bool   `json:"enable_script_checks"`
	EnableLocalScriptChecks bool   `json:"enable_local_script_checks"`

	// UI, logging, process.
	UI             bool         `json:"ui"`
	UIDir          string       `json:"ui_dir"`
	UIConfig       UIConfig     `json:"ui_config"`
	LogLevel       string       `json:"log_level"`
	LogJSON        bool         `json:"log_json"`
	LogFile        string       `json:"log_file"`
	LogRotateBytes int          `json:"log_rotate_bytes"`
	LogRotateDur   Duration     `json:"log_rotate_duration"`
	LogRotateMax   int          `json:"log_rotate_max_files"`
	EnableSyslog   bool         `json:"enable_syslog"`
	SyslogFacility string       `json:"syslog_facility"`
	PidFile        string       `json:"pid_file"`
	Limits         Limits       `json:"limits"`
	Performance    AnyObject    `json:"performance"`
	RaftLogStore   RaftLogStore `json:"raft_logstore"`
	Telemetry      AnyObject    `json:"telemetry"`
	Autopilot      Autopilot    `json:"autopilot"`
	Connect        Connect      `json:"connect"`
	HTTPConfig     AnyObject    `json:"http_config"`

	// Watches run a handler each time a view of the catalog, the KV
	// store or the events changes.
	Watches []*structs.WatchDefinition `json:"watches"`

	// Keys Consul's own test harness writes (sdk/testutil), and
	// Enterprise blocks refused unless off.
	Version     string        `json:"version"`
	Segments    []AnyObj      `json:"segments"`
	Peering     PeeringConfig `json:"peering"`
	Audit       AuditConfig   `json:"audit"`
	Experiments []string      `json:"experiments"`

	// Warnings are settings that were accepted but change nothing, for the
	// agent to log at start.
	Warnings []string `json:"-"`

	// Service and check definitions.
	Service  *structs.ServiceDefinition   `json:"service"`
	Services []*structs.ServiceDefinition `json:"services"`
	Check    *structs.CheckDefinition     `json:"check"`
	Checks   []*structs.CheckDefinition   `json:"checks"`
}

// AnyObject is a config block beacon accepts and keeps but does not act on
// yet; any keys are allowed inside it.
type AnyObject map[string]interface{}

// AnyObj is one element of a list of free-form blocks.
type AnyObj = map[string]interface{}

// PeeringConfig is the "peering" block. Cluster peering is service mesh,
// which beacon does not do: the block is accepted with a warning so
// configs written for Consul start, and the peering endpoints say so.
type PeeringConfig struct {
	Enabled *bool `json:"enabled"`
}

// AuditConfig is the "audit" block, a Consul Enterprise feature: only
// enabled = false is accepted.
type AuditConfig struct {
	Enabled bool      `json:"enabled"`
	Sinks   AnyObject `json:"sink"`
}

// Addresses overrides client_addr per interface.
type Addresses struct {
	HTTP  string `json:"http"`
	HTTPS string `json:"https"`
	DNS   string `json:"dns"`
	GRPC  string `json:"grpc"`
}

// Advertise overrides advertised addresses per protocol.
type Advertise struct {
	RPC     string `json:"rpc"`
	SerfLAN string `json:"serf_lan"`
	SerfWAN string `json:"serf_wan"`
}

// Ports are the agent's ports; -1 disables one.
type Ports struct {
	DNS     int `json:"dns"`
	HTTP    int `json:"http"`
	HTTPS   int `json:"https"`
	GRPC    int `json:"grpc"`
	GRPCTLS int `json:"grpc_tls"`
	SerfLAN int `json:"serf_lan"`
	SerfWAN int `json:"serf_wan"`
	Server  int `json:"server"`
}

// DNSConfig tunes DNS answers.
type DNSConfig struct {
	AllowStale         *bool               `json:"allow_stale"`
	MaxStale           Duration            `json:"max_stale"`
	NodeTTL            Duration            `json:"node_ttl"`
	ServiceTTL         map[string]Duration `json:"service_ttl"`
	UDPAnswerLimit     int                 `json:"udp_answer_limit"`
	OnlyPassing        bool                `json:"only_passing"`
	EnableTruncate     bool                `json:"enable_truncate"`
	RecursorTimeout    Duration            `json:"recursor_timeout"`
	DisableCompression bool                `json:"disable_compression"`
	ARecordLimit       int                 `json:"a_record_limit"`
	SOA                AnyObject           `json:"soa"`
	UseCache           bool                `json:"use_cache"`
	CacheMaxAge        Duration            `json:"cache_max_age"`
	NodeMetaTXT        *bool               `json:"enable_additional_node_meta_txt"`
}

// TLSConfig is the nested "tls" block of newer config files: defaults for
// every interface, each overridable per interface (see TLSFor).
type TLSConfig struct {
	Defaults    TLSBlock `json:"defaults"`
	InternalRPC TLSBlock `json:"internal_rpc"`
	HTTPS       TLSBlock `json:"https"`
	GRPC        TLSBlock `json:"grpc"`
}

// ACLConfig is the "acl" block.
type ACLConfig struct {
	Enabled                bool      `json:"enabled"`
	DefaultPolicy          string    `json:"default_policy"`
	DownPolicy             string    `json:"down_policy"`
	PolicyTTL              Duration  `json:"policy_ttl"`
	RoleTTL                Duration  `json:"role_ttl"`
	TokenTTL               Duration  `json:"token_ttl"`
	EnableTokenPersistence bool      `json:"enable_token_persistence"`
	EnableTokenReplication bool      `json:"enable_token_replication"`
	EnableKeyListPolicy    bool      `json:"enable_key_list_policy"`
	Tokens                 ACLTokens `json:"tokens"`
}

// ACLTokens are the agent's configured tokens.
type ACLTokens struct {
	InitialManagement      string `json:"initial_management" alias:"master"`
	Agent                  string `json:"agent"`
	AgentRecovery          string `json:"agent_recovery" alias:"agent_master"`
	Default                string `json:"default"`
	Replication            string `json:"replication"`
	ConfigFileRegistration string `json:"config_file_service_registration"`
}

// UIConfig is the "ui_config" block.
type UIConfig struct {
	Enabled         *bool     `json:"enabled"`
	Dir             string    `json:"dir"`
	ContentPath     string    `json:"content_path"`
	MetricsProxy    AnyObject `json:"metrics_proxy"`
	MetricsProvider string    `json:"metrics_provider"`
}

// RaftLogStore chooses how servers keep the raft log.
type RaftLogStore struct {
	// Backend is "wal" (an append-only log, one fsync per batch) or
	// "boltdb"; empty keeps what the data dir already has, and uses wal for
	// a new one.
	Backend         string    `json:"backend"`
	DisableLogCache bool      `json:"disable_log_cache"`
	Verification    AnyObject `json:"verification"`
	BoltDB          AnyObject `json:"boltdb"`
	WAL             AnyObject `json:"wal"`
}

// Autopilot is the "autopilot" block: the autopilot configuration a new
// cluster's first leader stores. Once stored, the cluster's configuration
// is changed through the API (/v1/operator/autopilot/configuration), not
// here, as in Consul.
type Autopilot struct {
	CleanupDeadServers      bool     `json:"cleanup_dead_servers"`
	LastContactThreshold    Duration `json:"last_contact_threshold"`
	MaxTrailingLogs         uint64   `json:"max_trailing_logs"`
	MinQuorum               uint     `json:"min_quorum"`
	ServerStabilizationTime Duration `json:"server_stabilization_time"`
	RedundancyZoneTag       string   `json:"redundancy_zone_tag"`
	DisableUpgradeMigration bool     `json:"disable_upgrade_migration"`
	UpgradeVersionTag       string   `json:"upgrade_version_tag"`
}

// Config is the block as the servers keep it.
func (a Autopilot) Config() structs.AutopilotConfig {
	return structs.AutopilotConfig{
		CleanupDeadServers: a.CleanupDeadServers, LastContactThreshold: a.LastContactThreshold.D(),
		MaxTrailingLogs: a.MaxTrailingLogs, MinQuorum: a.MinQuorum,
		ServerStabilizationTime: a.ServerStabilizationTime.D(), RedundancyZoneTag: a.RedundancyZoneTag,
		DisableUpgradeMigration: a.DisableUpgradeMigration, UpgradeVersionTag: a.UpgradeVersionTag,
	}
}

func defaultAutopilot() Autopilot {
	d := structs.DefaultAutopilotConfig()
	return Autopilot{
		CleanupDeadServers: d.CleanupDeadServers, LastContactThreshold: Duration(d.LastContactThreshold),
		MaxTrailingLogs: d.MaxTrailingLogs, MinQuorum: d.MinQuorum,
		ServerStabilizationTime: Duration(d.ServerStabilizationTime),
	}
}

// Limits bounds what clients may use.
type Limits struct {
	HTTPMaxConnsPerClient int       `json:"http_max_conns_per_client"`
	RPCMaxConnsPerClient  int       `json:"rpc_max_conns_per_client"`
	HTTPSHandshakeTimeout Duration  `json:"https_handshake_timeout"`
	RPCHandshakeTimeout   Duration  `json:"rpc_handshake_timeout"`
	RPCRate               float64   `json:"rpc_rate"`
	RPCMaxBurst           int       `json:"rpc_max_burst"`
	KVMaxValueSize        int       `json:"kv_max_value_size"`
	TxnMaxReqLen          int       `json:"txn_max_req_len"`
	RequestLimits         AnyObject `json:"request_limits"`
}

// DefaultHTTPMaxConnsPerClient is the default cap on concurrent HTTP
// connections from one client IP. Consul's 200 is below what a single
// Prometheus (one blocking watch per service) or renderer (one per
// dependency) needs at 1,000 services; 4,096 leaves room for both on one
// host while still bounding a runaway client to a few tens of MB.
const DefaultHTTPMaxConnsPerClient = 4096

// Default is the configuration before any file or flag.
func Default() *Config {
	return &Config{
		Datacenter: "dc1",
		BindAddr:   "0.0.0.0",
		ClientAddr: "127.0.0.1",
		Domain:     "consul.",
		Ports: Ports{
			DNS: 8600, HTTP: 8500, HTTPS: -1, GRPC: -1, GRPCTLS: -1,
			SerfLAN: 8301, SerfWAN: 8302, Server: 8300,
		},
		RetryInterval:    Duration(30e9),
		RetryIntervalWAN: Duration(30e9),
		LogLevel:         "info",
		SyslogFacility:   "LOCAL0",
		Limits:           Limits{HTTPMaxConnsPerClient: DefaultHTTPMaxConnsPerClient, RPCMaxConnsPerClient: 100},
		ACL:              ACLConfig{DefaultPolicy: "allow", DownPolicy: "extend-cache"},
		Autopilot:        defaultAutopilot(),
	}
}

// AllServices is every service definition from service and services.
func (c *Config) AllServices() []*structs.ServiceDefinition {
	return structs.OneAndMany(c.Service, c.Services)
}

// AllChecks is every standalone check definition from check and checks.
func (c *Config) AllChecks() []*structs.CheckDefinition { return structs.OneAndMany(c.Check, c.Checks) }
