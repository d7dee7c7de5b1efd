package rtjson

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary answers to Parse: it must never panic, and
// nothing it accepts may carry a control character into a SIP message.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"version":"1.0","routes":[{"uri":"sip:a@b\r\n"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			return
		}
		check := func(s string) {
			if strings.ContainsAny(s, "\r\n\x00") {
				t.Fatalf("accepted a control character: %q", s)
			}
		}
		if d.Reject != nil {
			check(d.Reject.Reason)
		}
		for _, br := range d.Branches {
			if br.RURI != nil {
				check(br.RURI.String())
			}
			if br.Dst != nil {
				check(br.Dst.String())
			}
			for _, h := range br.Extra {
				check(h.Name())
				check(h.Value())
			}
			for _, c := range []*NameAddrChange{br.From, br.To} {
				if c != nil {
					check(c.URI.String())
					if c.Display != nil {
						check(*c.Display)
					}
				}
			}
		}
	})
}
