package structs

import (
	"errors"
	"fmt"
)

// Errors a write or read can return; the HTTP layer maps them to status codes.
//
// A failed write either was not applied, and may be retried as if it had never
// been sent, or its outcome is unknown: it reached a leader's log, but no
// answer says whether it committed. ErrNoLeader, ErrUnknownDC, permission,
// validation and not-found errors mean not applied; ErrLeadershipLost and
// ErrOutcomeUnknown (OutcomeUnknown reports both) mean the write may have been
// applied, and only a read can tell.
var (
	ErrMissingNode       = errors.New("Missing node registration")
	ErrMissingService    = errors.New("Missing service registration")
	ErrMissingSessionID  = errors.New("Missing session")
	ErrInvalidSession    = errors.New("invalid session")
	ErrSessionNotFound   = errors.New("Session not found")
	ErrPermissionDenied  = errors.New("Permission denied")
	ErrNoLeader          = errors.New("No cluster leader")
	ErrLeadershipLost    = errors.New("leadership lost while committing log")
	ErrOutcomeUnknown    = errors.New("the write may or may not have been applied")
	ErrUnknownDC         = errors.New("No path to datacenter")
	ErrCheckNotFound     = errors.New("Unknown check ID")
	ErrServiceNotFound   = errors.New("Unknown service ID")
	ErrLockDelay         = errors.New("lock is in its lock-delay period")
	ErrNotLockHolder     = errors.New("session does not hold the lock")
	ErrSessionCheckState = errors.New("check is critical, a session cannot be bound to it")
	// ErrTxnReplayed answers a transaction sent again after it applied,
	// once the store no longer holds the first apply's results.
	ErrTxnReplayed = errors.New("the transaction was applied by an earlier attempt")
	// ErrTxnUnsupported refuses a transaction, not applied, while a
	// server in the cluster cannot apply transactions.
	ErrTxnUnsupported = errors.New("transaction not applied: a server in the raft configuration runs an older build that cannot apply transactions; upgrade every server")
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
	// First: an error of unknown outcome may say what else went wrong, but
	// it must never travel as one that means "not applied".
	{"lostleader", ErrLeadershipLost},
	{"unknown", ErrOutcomeUnknown},
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
	{"txnreplayed", ErrTxnReplayed},
	{"notxn", ErrTxnUnsupported},
	{"noquery", ErrQueryNotFound},
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

// OutcomeUnknown reports whether err leaves open whether a write was
// applied.
func OutcomeUnknown(err error) bool {
	return errors.Is(err, ErrLeadershipLost) || errors.Is(err, ErrOutcomeUnknown)
}

// Unknown marks err, a failure to hear back about a write that was sent, as
// one of unknown outcome; an error that already says so is returned as is.
// The result is no longer any of the kinds err was, and its text does not
// repeat ErrNoLeader's, which clients read as "not applied": what err said
// about the attempt it came from no longer describes the write.
func Unknown(err error) error {
	if err == nil || OutcomeUnknown(err) {
		return err
	}
	msg := err.Error()
	if errors.Is(err, ErrNoLeader) {
		msg = "no leader answered after an earlier attempt went unanswered"
	}
	return &unknownError{msg + "; " + ErrOutcomeUnknown.Error()}
}

type unknownError struct{ msg string }

func (e *unknownError) Error() string { return e.msg }
func (e *unknownError) Unwrap() error { return ErrOutcomeUnknown }
