package structs

import "errors"

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
