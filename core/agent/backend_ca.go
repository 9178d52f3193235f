package agent

import (
	"context"

	"github.com/beacon-sd/beacon/core/structs"
)

// CABackend is the Connect CA's part of Backend: the roots, the
// configuration, and the signing of services' certificates.
type CABackend interface {
	ConnectCARoots(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedCARoots) error
	ConnectCAConfigGet(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.CAConfigReply) error
	ConnectCAConfigSet(ctx context.Context, args *structs.CARequest) (bool, error)
	ConnectCASign(ctx context.Context, args *structs.CASignRequest) (*structs.IssuedCert, error)
}
