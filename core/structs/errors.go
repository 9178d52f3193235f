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
