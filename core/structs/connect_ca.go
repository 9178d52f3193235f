package structs

import (
	"errors"
	"time"
)

// ErrConnectDisabled answers the CA endpoints of servers whose connect
// block is off.
var ErrConnectDisabled = errors.New("Connect must be enabled in order to use this endpoint")

// CAProviderConsul is the one CA provider beacon has: the built-in one.
const CAProviderConsul = "consul"

// CARoot is a trusted root certificate as the API shows it. It carries no
// key: what signs stays in CARootState.
type CARoot struct {
	ID                  string
	Name                string
	SerialNumber        uint64
	SigningKeyID        string
	ExternalTrustDomain string
	NotBefore           time.Time
	NotAfter            time.Time
	RootCert            string
	// IntermediateCerts are the certificates between the root and the
	// leaves it signs, the signing one first.
	IntermediateCerts []string
	Active            bool
	PrivateKeyType    string
	PrivateKeyBits    int
	RaftIndex
}

// CARootState is a root as the state store keeps it: with its private
// key and that of the intermediate certificate that signs leaves. Only
// servers read it; every read API answers CARoot.
type CARootState struct {
	CARoot
	RootKey    string
	SigningKey string
	// RotatedOutAt is when another root became active; the root stays
	// trusted until it expires.
	RotatedOutAt time.Time `json:",omitempty"`
}

// CAConfiguration is the CA's configuration: its provider and that
// provider's settings. Config never holds a private key.
type CAConfiguration struct {
	ClusterID                string
	Provider                 string
	Config                   map[string]interface{}
	State                    map[string]string
	ForceWithoutCrossSigning bool
	RaftIndex
}

// CARequest replaces the CA's configuration and its roots in one write.
// Over RPC it carries the configuration a user sets; the leader fills
// Roots and CAS before the write enters the log.
type CARequest struct {
	Datacenter string
	Config     *CAConfiguration
	Roots      []*CARootState `json:",omitempty"`
	// CAS is the ModifyIndex of the configuration the write was worked
	// out from (0: none yet); another write in between refuses it.
	CAS uint64
	WriteRequest
}

// IndexedCARoots are the roots with the query's index.
type IndexedCARoots struct {
	ActiveRootID string
	TrustDomain  string
	Roots        []*CARoot
	QueryMeta
}

// CAConfigReply is the CA configuration with the query's index.
type CAConfigReply struct {
	Config *CAConfiguration
	QueryMeta
}

// CASignRequest asks for a service's certificate signing request to be
// signed by the active root.
type CASignRequest struct {
	Datacenter string
	CSR        string
	QueryOptions
}

// IssuedCert is a signed leaf certificate (without its private key, which
// never leaves the agent that made it).
type IssuedCert struct {
	SerialNumber string
	CertPEM      string
	Service      string
	ServiceURI   string
	ValidAfter   time.Time
	ValidBefore  time.Time
	// RootID is the root the certificate chains to.
	RootID string
	RaftIndex
}
