package rpc

import (
	"context"

	"github.com/beacon-sd/beacon/core/structs"
)

func (r *Remote) ConnectCARoots(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedCARoots) error {
	return r.call(ctx, "ConnectCARoots", args, reply)
}

func (r *Remote) ConnectCAConfigGet(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.CAConfigReply) error {
	return r.call(ctx, "ConnectCAConfigGet", args, reply)
}

func (r *Remote) ConnectCAConfigSet(ctx context.Context, args *structs.CARequest) (bool, error) {
	return callFor[bool](ctx, r, "ConnectCAConfigSet", args)
}

func (r *Remote) ConnectCASign(ctx context.Context, args *structs.CASignRequest) (*structs.IssuedCert, error) {
	return callForPtr[structs.IssuedCert](ctx, r, "ConnectCASign", args)
}
