// Package lines cuts text by lines for test logs.
package lines

import "strings"

// Last is the last n lines of s (all of s when it has fewer).
func Last(s string, n int) string {
	all := strings.Split(s, "\n")
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return strings.Join(all, "\n")
}
