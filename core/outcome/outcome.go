// Package outcome tells what the error of a write made through the HTTP API
// says about the write: it was not applied, so it may be sent again as if
// never sent, or its outcome is unknown, so only a read can tell. The API
// answers as Consul's does; README.md lists the answers of each kind.
package outcome

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/consul/api"
)

// Outcome is what an error says about a write.
type Outcome int

const (
	// Applied: the write succeeded (no error).
	Applied Outcome = iota
	// NotApplied: the write was refused or never reached a leader's log.
	NotApplied
	// Unknown: the write may or may not have been applied.
	Unknown
)

func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case NotApplied:
		return "not applied"
	}
	return "outcome unknown"
}

// Texts of 500 answers, as the agent words them.
const (
	unknownText    = "may or may not have been applied"
	lostLeaderText = "leadership lost while committing log"
	noLeaderText   = "No cluster leader"
	noServersText  = "No known Consul servers"
	noPathToDCText = "No path to datacenter"
)

// Of classifies the error of a write made with the official API client.
func Of(err error) Outcome {
	if err == nil {
		return Applied
	}
	var se api.StatusError
	if errors.As(err, &se) {
		return ofAnswer(se.Code, se.Body)
	}
	if strings.Contains(err.Error(), "Unexpected response code: ") {
		// Older client paths format the answer into the text alone.
		return ofText(err.Error())
	}
	return ofTransport(err)
}

// OfAnswer classifies an HTTP answer to a write by its status and body.
func OfAnswer(status int, body string) Outcome {
	if status >= 200 && status < 300 {
		return Applied
	}
	return ofAnswer(status, body)
}

func ofAnswer(status int, body string) Outcome {
	switch {
	case status >= 400 && status < 500:
		return NotApplied // refused: bad input, permission, too large, too many
	case status == http.StatusServiceUnavailable:
		return NotApplied // refused before it was read
	}
	return ofText(body)
}

// ofText classifies a 500's body.
func ofText(body string) Outcome {
	switch {
	case strings.Contains(body, noLeaderText), strings.Contains(body, noServersText),
		strings.Contains(body, noPathToDCText):
		// As Consul's clients read them; the agent never words an answer
		// of unknown outcome with these.
		return NotApplied
	case strings.Contains(body, unknownText), strings.Contains(body, lostLeaderText):
		return Unknown
	}
	return Unknown
}

// ofTransport classifies a failure to get an answer: a connection that was
// never made means the write was never sent.
func ofTransport(err error) Outcome {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return NotApplied
	}
	if strings.Contains(err.Error(), ": dial ") {
		return NotApplied // as a client formats a dial error into its text
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Op == "parse" {
		return NotApplied
	}
	return Unknown
}
