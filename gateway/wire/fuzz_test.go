package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzCheck feeds arbitrary octets to Check. It must not panic, and what
// it lets through must be what sipgo parses (and, for a request, can key a
// transaction for), never longer than the input, and stable: checking the
// output again changes nothing.
func FuzzCheck(f *testing.F) {
	files, _ := filepath.Glob("testdata/rfc4475/*.sip")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		in := bytes.Clone(msg)
		out, reply, err := Check(msg)
		if !bytes.Equal(in, msg) {
			t.Fatal("Check changed its input")
		}
		if err != nil && out != nil {
			t.Fatal("refused and passed on")
		}
		if reply != nil && !bytes.HasPrefix(reply, []byte("SIP/2.0 ")) {
			t.Fatalf("reply %q", reply)
		}
		if out == nil {
			return
		}
		if len(out) > len(msg) {
			t.Fatalf("out grew: %d > %d", len(out), len(msg))
		}
		m, perr := sip.ParseMessage(out)
		if perr != nil {
			t.Fatalf("sipgo refuses what Check passed: %v\n%q", perr, out)
		}
		if r, ok := m.(*sip.Request); ok {
			if _, kerr := sip.ServerTxKeyMake(r); kerr != nil {
				t.Fatalf("no transaction key for what Check passed: %v\n%q", kerr, out)
			}
		}
		again, _, err2 := Check(out)
		if err2 != nil || !bytes.Equal(again, out) {
			t.Fatalf("not stable: %v\n%q\n%q", err2, out, again)
		}
	})
}
