package rpc

import (
	"context"

	"github.com/beacon-sd/beacon/core/structs"
)

func (r *Remote) AutopilotGetConfiguration(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.AutopilotConfigReply) error {
	return r.call(ctx, "AutopilotGetConfiguration", args, reply)
}

func (r *Remote) AutopilotSetConfiguration(ctx context.Context, args *structs.AutopilotSetRequest) (bool, error) {
	return callFor[bool](ctx, r, "AutopilotSetConfiguration", args)
}

func (r *Remote) AutopilotServerHealth(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.AutopilotHealthReply) error {
	return r.call(ctx, "AutopilotServerHealth", args, reply)
}

func (r *Remote) OperatorUsage(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.UsageReply) error {
	return r.call(ctx, "OperatorUsage", args, reply)
}
