package structs

import (
	"errors"
	"fmt"
)

// Errors a write or read can return; the HTTP layer maps them to status codes.
var (
	ErrMissingNode       = errors.New("Missing node registration")
	ErrMissingService    = errors.New("Missing service registration")
	ErrMissingSessionID  = errors.New("Missing session")
	ErrInvalidSession    = errors.New("invalid session")
	ErrSessionNotFound   = errors.New("Session not found")
	ErrPermissionDenied  = errors.New("Permission denied")
	ErrNoLeader          = errors.New("No cluster leader")
	ErrUnknownDC         = errors.New("No path to datacenter")
	ErrCheckNotFound     = errors.New("Unknown check ID")
	ErrServiceNotFound   = errors.New("Unknown service ID")
	ErrLockDelay         = errors.New("lock is in its lock-delay period")
	ErrNotLockHolder     = errors.New("session does not hold the lock")
	ErrSessionCheckState = errors.New("check is critical, a session cannot be bound to it")
)

// InputError is an error caused by what the caller sent, not by the server;
// the HTTP API answers it with 400.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// Validation marks the error as the caller's.
func (e *InputError) Validation() bool { return true }

// BadInput returns an InputError.
func BadInput(format string, args ...interface{}) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// errorCodes name the kinds of error that keep their meaning where an
// error travels as text: across the RPC wire, and in the log's memory of
// a failed write.
var errorCodes = []struct {
	code string
	err  error
}{
	{"perm", ErrPermissionDenied},
	{"noleader", ErrNoLeader},
	{"nodc", ErrUnknownDC},
	{"nonode", ErrMissingNode},
	{"nosvc", ErrMissingService},
	{"nosess", ErrMissingSessionID},
	{"badsess", ErrInvalidSession},
	{"nocheck", ErrCheckNotFound},
	{"unknownsvc", ErrServiceNotFound},
	{"aclnotfound", ErrACLNotFound},
	{"aclboot", ErrACLBootstrapDisabled},
	{"acloff", ErrACLDisabled},
}

// ErrorCode is the code of err's kind, "" for none.
func ErrorCode(err error) string {
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

// ErrorKind is the sentinel error of a code, nil for an unknown one.
func ErrorKind(code string) error {
	for _, c := range errorCodes {
		if c.code == code {
			return c.err
		}
	}
	return nil
}
