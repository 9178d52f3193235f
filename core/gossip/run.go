package gossip

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// Each run of an agent (each start of its pool) draws a secret and
// publishes the secret's hash in its gossip metadata, under runKey. The
// hash names the run: an agent started again under the same name publishes
// another one, and memberlist carries the changed metadata to every member
// as an update, even when the agent restarted too fast for anyone to see it
// gone.
//
// The leave and left messages about a node carry its secret, which only
// the run that published the hash knows until it announces its leave. A
// member acts on such a message only when the secret matches the run it
// lists for the node: a leave of an earlier run, still passed around when
// the node started again, and a message another member made up about the
// node are both ignored.
const runKey = "run"

// newRun draws a run's secret and returns it with the run's name.
func newRun() (secret, run string) {
	b := make([]byte, 16)
	rand.Read(b)
	secret = hex.EncodeToString(b)
	return secret, runOf(secret)
}

// runOf is the name of the run whose secret is given.
func runOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:16])
}

// provenBy reports whether secret, carried by a leave or left message about
// m, shows that the message comes from the run of m listed here. A member
// that publishes no run (an agent of an older build) proves nothing, and its
// messages are taken as they come.
func (m *member) provenBy(secret string) bool {
	if m.Run == "" {
		return true
	}
	return secret != "" && subtle.ConstantTimeCompare([]byte(runOf(secret)), []byte(m.Run)) == 1
}
