//go:build !linux

package main_test

import "os/exec"

// dieWithParent has no portable equivalent outside Linux; t.Cleanup still
// kills every child on a normal exit.
func dieWithParent(cmd *exec.Cmd) {}
