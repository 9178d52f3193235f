// Package rpc carries agent-to-server and server-to-server calls. One TCP
// port (ports.server) serves both raft and RPC: the first byte of a
// connection says which. An RPC connection, one per pair of agents, carries
// any number of concurrent calls as tagged frames (see mux.go), so a
// blocking query holds a call ID and not a connection, and a caller that
// gives up tells the server to cancel the call. Arguments and replies are
// JSON.
package rpc

import (
	"errors"

	"github.com/beacon-sd/beacon/core/structs"
)

// Connection kinds, the first byte written on a new connection.
const (
	kindRPC  byte = 'B'
	kindRaft byte = 'R'
)

// maxFrame bounds one frame. A KV value is at most 512 KiB, but a reply
// listing a large catalog can run to many megabytes, and a snapshot handed
// on to the leader travels in one frame (up to 256 MiB of archive). Frames
// are read as their bytes arrive, so the bound is not allocated up front.
var maxFrame = 512 << 20

// EncodeError is an error's message and the code of its kind, for a reply:
// errors keep their meaning across the wire.
func EncodeError(err error) (msg, code string) {
	var in *structs.InputError
	if errors.As(err, &in) {
		return err.Error(), "input"
	}
	return err.Error(), structs.ErrorCode(err)
}

// DecodeError turns what EncodeError made back into an error of the same
// kind.
func DecodeError(msg, code string) error {
	if code == "input" {
		return &structs.InputError{Msg: msg}
	}
	return &remoteError{msg: msg, kind: structs.ErrorKind(code)}
}

// remoteError is an error returned by the other side.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// IsRemote reports whether err came from the far side of a call (as
// opposed to a failure to reach it).
func IsRemote(err error) bool {
	var re *remoteError
	var in *structs.InputError
	return errors.As(err, &re) || errors.As(err, &in)
}
