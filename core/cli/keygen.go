package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
)

// keyBytes is the size of a key from `beacon keygen`: AES-256, the
// largest key gossip encryption takes.
const keyBytes = 32

// keygenCommand is `beacon keygen`: prints a new gossip encryption key.
func keygenCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("keygen", "beacon keygen", `
Generates a new gossip encryption key: 32 random bytes, base64-encoded, in
the form -encrypt and the "encrypt" config key expect.`, stderr)
	if code, ok := parseArgs(fs, args, 0); !ok {
		return code
	}
	key, err := newKey(rand.Reader)
	if err != nil {
		fmt.Fprintf(stderr, "Error reading random data: %s\n", err)
		return 1
	}
	fmt.Fprintln(stdout, key)
	return 0
}

// newKey reads a key from random and encodes it.
func newKey(random io.Reader) (string, error) {
	key := make([]byte, keyBytes)
	if _, err := io.ReadFull(random, key); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(key), nil
}
