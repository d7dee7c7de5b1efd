package tls

import (
	"strings"
	"testing"
)

// FuzzNames checks the server name rules: checkName never panics, an
// accepted exact name matches itself in any case, and an accepted
// wildcard matches exactly one more label.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"sip.example.com", "*.example.org", "a..b", "*", "-x.com", "xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, n string) {
		if checkName(n) != nil {
			return
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if !nameMatches(n, "x."+rest) || nameMatches(n, rest) || nameMatches(n, "y.x."+rest) {
				t.Fatalf("wildcard %q matches wrongly", n)
			}
			return
		}
		if !nameMatches(n, strings.ToUpper(n)+".") {
			t.Fatalf("%q does not match itself", n)
		}
	})
}
